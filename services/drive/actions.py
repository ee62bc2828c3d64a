"""What the Drive's forms do: new folder, rename, move, copy, trash, restore, rescan."""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from aiohttp import web

from appliance.files import Exists, FilesError, check_name, check_path
from appliance.files.names import join, numbered
from appliance.services import ServiceContext
from appliance.web.forms import local_path, text
from services.drive.locations import DriveUrls, parent_of
from services.drive.pages import DrivePages
from services.drive.problems import Problem, problem
from services.drive.upkeep import Upkeep

if TYPE_CHECKING:
    from appliance.files import FileTree

LONG = 16384  # longer than any valid path, so an overlong one is refused by name, not ignored
Shown = Callable[[Problem], Awaitable[web.Response]]


def _back(request: web.Request, form: Mapping[str, object], default: str) -> str:
    """Return the Drive page the form came from (its `back` field), else `default`."""
    back = local_path(text(form, "back", limit=LONG), "")
    return back if back.startswith(DriveUrls.of(request).base) else default


def _path(form: Mapping[str, object], name: str = "path") -> str:
    return check_path(text(form, name, limit=LONG))


def _shown_path(form: Mapping[str, object], name: str = "path") -> str:
    """Return a form's path for showing a page about it ("/" if the path is unusable)."""
    try:
        return _path(form, name)
    except FilesError:
        return "/"


async def _free_name(tree: FileTree, folder: str, name: str, is_dir: bool) -> str:
    """Return "name (2)" or the next number free in the folder."""
    taken = {e.name.casefold() for e in await tree.list(folder)}
    for number in range(2, 1000):
        candidate = numbered(name, number, folder=is_dir)
        if candidate.casefold() not in taken:
            return candidate
    raise Exists(f"{name!r} has too many copies here already; rename some first")


def routes(ctx: ServiceContext, upkeep: Upkeep) -> web.RouteTableDef:
    """Return the routes of the Drive's forms."""
    table = web.RouteTableDef()
    pages = DrivePages(ctx, upkeep)

    async def act(request: web.Request, work: Callable[[], Awaitable[str]], shown: Shown
                  ) -> web.StreamResponse:
        """Do the work and go to the page it names; on a refusal, show why on `shown`'s page."""
        try:
            target = await work()
        except FilesError as exc:
            return await shown(problem(request, exc))
        finally:
            upkeep.changed()
        raise web.HTTPSeeOther(target)

    def item_action(request: web.Request, form: Mapping[str, object],
                    work: Callable[[FileTree, str], Awaitable[object]]
                    ) -> Awaitable[web.StreamResponse]:
        """Act on the item the form names, then show its folder; a refusal shows on its page."""
        async def then_folder() -> str:
            path = _path(form)
            await work(ctx.drive(), path)
            return DriveUrls.of(request).folder(parent_of(path))
        return act(request, then_folder,
                   lambda found: pages.item(request, _shown_path(form), found))

    def trash_action(request: web.Request, work: Callable[[], Awaitable[object]]
                     ) -> Awaitable[web.StreamResponse]:
        """Act on the trash, then show it; a refusal shows there too."""
        async def then_trash() -> str:
            await work()
            return DriveUrls.of(request).trash
        return act(request, then_trash, lambda found: pages.trash(request, found))

    @table.post("/actions/mkdir")
    async def mkdir(request: web.Request) -> web.StreamResponse:
        """Create a folder in the folder the owner is looking at."""
        form = await request.post()

        async def work() -> str:
            folder = _path(form, "folder")
            await ctx.drive().mkdir(join(folder, check_name(text(form, "name", limit=LONG))))
            return _back(request, form, DriveUrls.of(request).folder(folder))
        return await act(request, work,
                         lambda found: pages.folder(request, _shown_path(form, "folder"), found))

    @table.post("/actions/rename")
    async def rename(request: web.Request) -> web.StreamResponse:
        """Give a file or folder another name, in the same folder."""
        form = await request.post()

        async def work(tree: FileTree, path: str) -> None:
            new_name = check_name(text(form, "name", limit=LONG))
            await tree.move(path, join(parent_of(path), new_name))
        return await item_action(request, form, work)

    @table.post("/actions/move")
    async def move(request: web.Request) -> web.StreamResponse:
        """Move a file or folder into another folder."""
        form = await request.post()

        async def work(tree: FileTree, path: str) -> None:
            await tree.move(path, join(_path(form, "to"), path.rsplit("/", 1)[1]))
        return await item_action(request, form, work)

    @table.post("/actions/copy")
    async def copy(request: web.Request) -> web.StreamResponse:
        """Copy a file or folder into a folder ("name (2)" when copied beside itself)."""
        form = await request.post()

        async def work(tree: FileTree, path: str) -> None:
            folder, name = _path(form, "to"), path.rsplit("/", 1)[1]
            if folder == parent_of(path):
                name = await _free_name(tree, folder, name, (await tree.stat(path)).is_dir)
            await tree.copy(path, join(folder, name))
        return await item_action(request, form, work)

    @table.post("/actions/trash")
    async def trash(request: web.Request) -> web.StreamResponse:
        """Put a file or folder in the trash."""
        form = await request.post()
        return await item_action(request, form, lambda tree, path: tree.trash(path))

    @table.post("/actions/restore")
    async def restore(request: web.Request) -> web.StreamResponse:
        """Put an item of the trash back where it was."""
        form = await request.post()
        return await trash_action(request, lambda: ctx.drive().restore(
            text(form, "id", limit=128)))

    @table.post("/actions/purge")
    async def purge(request: web.Request) -> web.StreamResponse:
        """Delete one item of the trash for good."""
        form = await request.post()
        return await trash_action(request, lambda: ctx.drive().purge(
            text(form, "id", limit=128)))

    @table.post("/actions/empty-trash")
    async def empty_trash(request: web.Request) -> web.StreamResponse:
        """Delete everything in the trash for good."""
        return await trash_action(request, lambda: ctx.drive().empty_trash())

    @table.post("/actions/rescan")
    async def rescan(request: web.Request) -> web.StreamResponse:
        """Start looking at the disk for files changed elsewhere (another computer, WebDAV)."""
        form = await request.post()
        upkeep.start_rescan(ctx.drive())
        raise web.HTTPSeeOther(_back(request, form, DriveUrls.of(request).folder("/")))

    return table
