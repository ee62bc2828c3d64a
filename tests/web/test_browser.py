"""The web UI in a real Chromium, as a household member sees it, on `hearth serve`."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Dialog, Page, expect

from tests.conftest import PASSPHRASE
from tests.web.conftest import PHONE, NewContext

pytestmark = pytest.mark.browser

NEW_PASSPHRASE = "blue kettle on a windy hill"


def set_up_box(page: Page, *, name: str = "maison", passphrase: str = PASSPHRASE,
               language: str = "en") -> None:
    """Fill in the onboarding form as the owner would, and land on the home page."""
    page.goto("/")
    page.locator(f"input[name=language][value={language}]").check()
    page.locator("input[name=name]").fill(name)
    page.locator("input[name=passphrase]").fill(passphrase)
    page.locator("input[name=passphrase2]").fill(passphrase)
    page.locator("form[action='/welcome'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/$"))


def sign_in(page: Page, passphrase: str = PASSPHRASE) -> None:
    """Type the passphrase on the sign-in page the browser is on."""
    page.get_by_label("Passphrase").fill(passphrase)
    page.get_by_role("button", name="Sign in").click()


def sign_out(page: Page) -> None:
    """Use the menu's Sign out button."""
    page.get_by_role("navigation").get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))


@pytest.fixture
def page(new_context: NewContext) -> Page:
    """A tab in an English desktop browser, pointed at a fresh box."""
    return new_context().new_page()


@pytest.fixture
def owner(page: Page) -> Page:
    """A tab signed in as the owner of a box just set up, in English, named maison."""
    set_up_box(page)
    return page


def test_first_visit_sets_the_box_up(page: Page) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/welcome$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome to your Hearth")
    page.get_by_label("English").check()
    page.get_by_label("The box's name").fill("maison-dupont")
    passphrase = page.get_by_label("Choose a passphrase")
    again = page.get_by_label("Type it again")
    setup = page.get_by_role("button", name="Set up my Hearth")

    # Too short: Chromium itself refuses to send the form and says why.
    passphrase.fill("chat")
    again.fill("chat")
    setup.click()
    expect(page).to_have_url(re.compile(r"/welcome$"))
    assert "10 characters" in passphrase.evaluate("el => el.validationMessage")

    # Long enough for Chromium but a household classic: the box explains in plain words.
    passphrase.fill("motdepasse1")
    again.fill("motdepasse1")
    setup.click()
    expect(page.get_by_role("alert")).to_have_text(
        "This passphrase is too common: add a few unrelated words.")
    expect(page.get_by_label("The box's name")).to_have_value("maison-dupont")
    expect(setup).to_be_visible()

    passphrase.fill(PASSPHRASE)
    again.fill(PASSPHRASE + "!")
    setup.click()
    expect(page.get_by_role("alert")).to_have_text(
        "The two passphrases differ. Type the same one twice.")

    passphrase.fill(PASSPHRASE)
    again.fill(PASSPHRASE)
    setup.click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your Hearth")
    expect(page.get_by_role("link", name=re.compile("maison-dupont"))).to_be_visible()
    expect(page).to_have_title("Home · maison-dupont")
    tile = page.get_by_role("link", name=re.compile("Bookmarks"))
    expect(tile).to_contain_text("Links you want to keep")
    expect(tile).to_have_attribute("href", "/apps/bookmarks/")
    # Onboarding is over: coming back to it leads home.
    page.goto("/welcome")
    expect(page).to_have_url(re.compile(r"/$"))


def test_signing_out_and_back_in_where_you_were_going(owner: Page) -> None:
    sign_out(owner)
    expect(owner.get_by_role("heading", level=1)).to_have_text("Sign in")
    owner.goto("/settings")
    expect(owner).to_have_url(re.compile(r"/login\?next=/settings$"))

    sign_in(owner, "correct horse battery stable")
    expect(owner.get_by_role("alert")).to_have_text("Wrong passphrase.")
    expect(owner.get_by_label("Passphrase")).to_be_empty()

    sign_in(owner)
    expect(owner).to_have_url(re.compile(r"/settings$"))
    expect(owner.get_by_role("heading", level=1)).to_have_text("Settings")


def test_a_visitor_reads_the_sign_in_page_in_french(owner: Page) -> None:
    sign_out(owner)
    owner.get_by_role("button", name="Français").click()
    expect(owner.get_by_role("heading", level=1)).to_have_text("Connexion")
    expect(owner.locator("html")).to_have_attribute("lang", "fr")
    owner.get_by_label("Phrase secrète").fill("pas la bonne phrase")
    owner.get_by_role("button", name="Connexion").click()
    expect(owner.get_by_role("alert")).to_have_text("Phrase secrète incorrecte.")

    owner.get_by_role("button", name="English").click()
    expect(owner.get_by_role("heading", level=1)).to_have_text("Sign in")


def test_settings_switch_the_whole_ui_between_english_and_french(owner: Page) -> None:
    owner.get_by_role("link", name="Settings").click()
    owner.get_by_label("Language").select_option("fr")
    owner.get_by_role("button", name="Save").click()
    expect(owner.get_by_role("heading", level=1)).to_have_text("Paramètres")
    menu = owner.get_by_role("navigation")
    for label in ("Accueil", "Notifications", "Paramètres"):
        expect(menu.get_by_role("link", name=label)).to_be_visible()
    expect(menu.get_by_role("button", name="Déconnexion")).to_be_visible()
    expect(owner.get_by_role("button", name="Changer la phrase secrète")).to_be_visible()

    menu.get_by_role("link", name="Accueil").click()
    expect(owner.get_by_role("heading", level=1)).to_have_text("Votre Hearth")
    expect(owner.get_by_role("link", name=re.compile("Favoris"))).to_contain_text(
        "Les liens que vous voulez garder")
    owner.get_by_role("link", name=re.compile("Favoris")).click()
    expect(owner.get_by_role("button", name="Ajouter")).to_be_visible()
    expect(owner.get_by_text("Aucun favori pour l’instant.")).to_be_visible()

    # The choice is the box's: signing out keeps the sign-in page French.
    menu.get_by_role("button", name="Déconnexion").click()
    expect(owner.get_by_role("heading", level=1)).to_have_text("Connexion")
    owner.get_by_label("Phrase secrète").fill(PASSPHRASE)
    owner.get_by_role("button", name="Connexion").click()

    owner.get_by_role("link", name="Paramètres").click()
    owner.get_by_label("Langue").select_option("en")
    owner.get_by_role("button", name="Enregistrer").click()
    expect(owner.get_by_role("heading", level=1)).to_have_text("Settings")
    expect(owner.get_by_role("navigation").get_by_role("link", name="Home")).to_be_visible()


def test_a_french_browser_is_welcomed_in_french(new_context: NewContext) -> None:
    page = new_context(locale="fr-FR").new_page()
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bienvenue dans votre Hearth")
    expect(page.get_by_label("Français")).to_be_checked()
    page.get_by_label("Nom du boîtier").fill("chez-nous")
    page.get_by_label("Choisissez une phrase secrète").fill(PASSPHRASE)
    page.get_by_label("Retapez-la").fill(PASSPHRASE + "?")
    page.get_by_role("button", name="Configurer mon Hearth").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Les deux phrases secrètes ne sont pas identiques. Tapez deux fois la même.")

    page.get_by_label("Choisissez une phrase secrète").fill(PASSPHRASE)
    page.get_by_label("Retapez-la").fill(PASSPHRASE)
    page.get_by_role("button", name="Configurer mon Hearth").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Votre Hearth")
    expect(page).to_have_title("Accueil · chez-nous")


def _sideways_overflow(page: Page) -> str | None:
    """Say what sticks out past the right edge of the screen, if anything does."""
    found: str | None = page.evaluate("""() => {
        const width = window.innerWidth;
        const scrolled = document.scrollingElement.scrollWidth;
        if (scrolled <= width) return null;
        const wide = [...document.querySelectorAll("body *")]
            .filter(el => el.getBoundingClientRect().right > width + 0.5)
            .map(el => el.tagName.toLowerCase() + (el.className ? "." + el.className : ""));
        return `${scrolled}px wide on a ${width}px screen: ${wide.slice(0, 5).join(", ")}`;
    }""")
    return found


def _assert_fits_a_phone(page: Page, *buttons: str) -> None:
    """Assert the page never scrolls sideways and its main buttons take a thumb."""
    overflow = _sideways_overflow(page)
    assert overflow is None, f"{page.url} scrolls sideways: {overflow}"
    for name in buttons:
        box = page.get_by_role("button", name=name, exact=True).first.bounding_box()
        assert box is not None and box["height"] >= 40, \
            f"{name!r} on {page.url} is {box and box['height']}px tall, too small for a thumb"


def test_on_a_phone_nothing_scrolls_sideways_and_buttons_fit_a_thumb(
        new_context: NewContext, tmp_path: Path) -> None:
    page = new_context(**PHONE).new_page()
    page.goto("/")
    _assert_fits_a_phone(page, "Set up my Hearth")
    set_up_box(page)
    _assert_fits_a_phone(page)
    tile = page.get_by_role("link", name=re.compile("Bookmarks"))
    tile_box = tile.bounding_box()
    assert tile_box is not None and tile_box["height"] >= 40
    page.screenshot(path=tmp_path / "phone-home.png", full_page=True)

    tile.click()
    _assert_fits_a_phone(page, "Add")

    page.goto("/settings")
    page.locator("#tokens summary").click()  # tokens sit under "Advanced"
    _assert_fits_a_phone(page, "Save", "Change passphrase", "Create token")
    # French words are longer: the same page must still fit.
    page.get_by_label("Language").select_option("fr")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Paramètres")
    page.locator("#tokens summary").click()
    _assert_fits_a_phone(page, "Enregistrer", "Changer la phrase secrète", "Créer un jeton")
    page.screenshot(path=tmp_path / "phone-settings-fr.png", full_page=True)

    page.get_by_role("navigation").get_by_role("button", name="Déconnexion").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion")
    _assert_fits_a_phone(page, "Connexion")
    page.screenshot(path=tmp_path / "phone-login-fr.png", full_page=True)


def test_bookmarks_from_adding_to_deleting(owner: Page) -> None:
    owner.get_by_role("link", name=re.compile("Bookmarks")).click()
    expect(owner.get_by_role("heading", level=1)).to_have_text("Bookmarks")
    expect(owner.get_by_text("No bookmarks yet.")).to_be_visible()

    def add(url: str, title: str, tags: str) -> None:
        owner.get_by_label("Web address").fill(url)
        owner.get_by_label("Title").fill(title)
        owner.get_by_label("Tags, separated by commas").fill(tags)
        owner.get_by_role("button", name="Add").click()

    add("example.org/recettes", "Grandma's recipes", "Cuisine, family")
    add("https://www.service-public.fr/", "Public services", "papers")
    recipes = owner.get_by_role("listitem").filter(has_text="Grandma's recipes")
    expect(recipes.get_by_role("link", name="Grandma's recipes")).to_have_attribute(
        "href", "https://example.org/recettes")
    expect(recipes.get_by_role("link", name="#cuisine")).to_be_visible()
    expect(recipes.get_by_role("link", name="#family")).to_be_visible()
    expect(owner.get_by_role("link", name="Public services")).to_be_visible()

    recipes.get_by_role("link", name="#cuisine").click()
    expect(owner.get_by_role("heading", level=1)).to_have_text("Bookmarks · cuisine")
    expect(owner.get_by_role("link", name="Grandma's recipes")).to_be_visible()
    expect(owner.get_by_role("link", name="Public services")).to_have_count(0)

    add("not a web address", "", "")
    expect(owner.get_by_role("alert")).to_have_text(
        "That is not a web address (like https://example.org).")

    owner.goto("/apps/bookmarks/")
    questions: list[str] = []

    def answer(dialog: Dialog) -> None:
        questions.append(dialog.message)
        dialog.dismiss() if len(questions) == 1 else dialog.accept()
    owner.on("dialog", answer)
    recipes.get_by_role("button", name="Delete").click()  # "Cancel": nothing is deleted
    expect(owner.get_by_role("link", name="Grandma's recipes")).to_be_visible()
    recipes.get_by_role("button", name="Delete").click()
    expect(owner.get_by_role("link", name="Grandma's recipes")).to_have_count(0)
    assert questions == ["Delete the bookmark Grandma's recipes?"] * 2
    expect(owner.get_by_role("link", name="Public services")).to_be_visible()
    owner.reload()
    expect(owner.get_by_role("link", name="Grandma's recipes")).to_have_count(0)


def test_changing_the_passphrase_signs_other_browsers_out(owner: Page,
                                                          new_context: NewContext) -> None:
    phone = new_context(**PHONE).new_page()
    phone.goto("/settings")
    sign_in(phone)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Settings")

    owner.goto("/settings")
    sessions = owner.locator("#sessions").get_by_role("listitem")
    expect(sessions).to_have_count(2)
    owner.get_by_label("Current passphrase").fill(PASSPHRASE)
    owner.get_by_label("New passphrase").fill(NEW_PASSPHRASE)
    owner.get_by_label("Type it again").fill(NEW_PASSPHRASE)
    owner.get_by_role("button", name="Change passphrase").click()
    expect(owner.get_by_role("status")).to_contain_text("Passphrase changed.")
    expect(sessions).to_have_count(1)
    expect(sessions).to_contain_text("This browser")

    phone.get_by_role("link", name="Home").click()
    expect(phone).to_have_url(re.compile(r"/login\?next=/$"))
    sign_in(phone)
    expect(phone.get_by_role("alert")).to_have_text("Wrong passphrase.")
    sign_in(phone, NEW_PASSPHRASE)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Your Hearth")

    owner.reload()
    expect(owner.get_by_role("heading", level=1)).to_have_text("Settings")


def test_switching_language_on_the_sign_in_page_keeps_where_you_were_going(
        owner: Page) -> None:
    sign_out(owner)
    owner.goto("/settings")
    owner.get_by_role("button", name="Français").click()
    owner.get_by_label("Phrase secrète").fill(PASSPHRASE)
    owner.get_by_role("button", name="Connexion").click()
    expect(owner).to_have_url(re.compile(r"/settings$"), timeout=2_000)


def test_onboarding_keeps_the_chosen_language_after_an_error(page: Page) -> None:
    page.goto("/welcome")
    page.get_by_label("Français").check()
    page.get_by_label("Choose a passphrase").fill("motdepasse1")
    page.get_by_label("Type it again").fill("motdepasse1")
    page.get_by_role("button", name="Set up my Hearth").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.locator("input[name=language][value=fr]")).to_be_checked(timeout=2_000)
