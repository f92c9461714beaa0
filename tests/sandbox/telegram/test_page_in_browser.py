"""The sandbox's Telegram page in a real Chromium: a user writes /start and sees it queued for
the bot, what the bot sends (through the Bot API) appears without reloading, blocking the
bot makes Telegram refuse its sends, and the page holds under its own CSP on a phone."""

import json
import urllib.error
import urllib.request

import pytest

from banditore.sandbox.telegram import TelegramConfig
from tests import processes
from tests.browser import (
    DESKTOP,
    PHONE,
    assert_accessible,
    console_errors,
    fits_the_screen,
    screen,
    screenshot,
)

pytestmark = pytest.mark.browser
TOKEN = TelegramConfig().bots[0].token
USER = 424242


def call(url: str, path: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def bot_api(url: str, method: str, **params) -> tuple[int, dict]:
    return call(url, f"/bot{TOKEN}/{method}", params)


@pytest.fixture
def sandbox_url():
    with processes.sandbox("", "--log-level", "WARNING") as url:
        # Several sends to one chat within a second: Telegram's 1/s per chat would refuse them.
        assert call(url, "/_sandbox/telegram/config", {"limits": {"enabled": False}})[0] == 200
        yield url


def test_a_user_starts_the_bot_and_sees_what_it_sends_without_reloading(browser, sandbox_url):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def wait_for(predicate, timeout=10):
        return WebDriverWait(browser, timeout).until(lambda d: predicate())

    def bubbles(css):
        return [b.text for b in browser.find_elements(By.CSS_SELECTOR, css)]

    screen(browser, DESKTOP)
    browser.get(f"{sandbox_url}/_sandbox/telegram/")
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Sandbox Telegram")
    block = browser.find_element(By.ID, "block")
    assert not block.is_enabled()  # nobody chosen: nothing to block
    browser.execute_script("window.sameDocument = true")

    browser.find_element(By.ID, "user").send_keys(str(USER))
    browser.find_element(By.ID, "first-name").send_keys("Maria")
    browser.find_element(By.ID, "start").click()

    wait_for(lambda: any("/start" in b for b in bubbles("#chat .mine")))
    (mine,) = bubbles("#chat .mine")
    assert "in coda per il bot (aggiornamento n. 1)" in mine
    assert "in coda" in browser.find_element(By.ID, "said").text
    # Queued as Telegram would: the bot reads it with getUpdates (no webhook is set).
    status, updates = bot_api(sandbox_url, "getUpdates")
    assert status == 200
    (update,) = updates["result"]
    message = update["message"]
    assert update["update_id"] == 1 and message["text"] == "/start"
    assert message["from"]["id"] == USER and message["from"]["first_name"] == "Maria"
    assert message["entities"] == [{"offset": 0, "length": 6, "type": "bot_command"}]
    assert f"?bot=ComuneBot&utente={USER}" in browser.current_url

    # What the bot sends appears on its own, below what the user wrote.
    welcome = "Benvenuta, Maria! Riceverai qui gli avvisi del Comune."
    assert bot_api(sandbox_url, "sendMessage", chat_id=USER, text=welcome)[0] == 200
    wait_for(lambda: any(welcome in b for b in bubbles("#chat .from-bot")))
    photo = {"chat_id": USER, "photo": "https://example.org/mercato.jpg", "caption": "Il mercato"}
    assert bot_api(sandbox_url, "sendPhoto", **photo)[0] == 200
    wait_for(lambda: any("Il mercato" in b for b in bubbles("#chat .from-bot")))
    texts = [b.text for b in browser.find_elements(By.CSS_SELECTOR, "#chat .bubble")]
    assert texts[0].startswith("/start") and welcome in texts[1]
    assert "📷 Foto: mercato.jpg" in texts[2]

    # The comune's public channel.
    post = "Giovedì mercato in piazza"
    assert bot_api(sandbox_url, "sendMessage", chat_id="@comune_avvisi", text=post)[0] == 200
    wait_for(lambda: any(post in b for b in bubbles("#posts .bubble")))
    assert "1000 iscritti" in bubbles("#posts .bubble")[0]

    # Blocking the bot: Telegram refuses its next send; unblocking lets it through again.
    wait_for(lambda: block.is_enabled() and block.text == "Blocca il bot")
    block.click()
    wait_for(lambda: block.text == "Sblocca")
    status, refused = bot_api(sandbox_url, "sendMessage", chat_id=USER, text="Ci sei?")
    assert status == 403 and refused["description"] == "Forbidden: bot was blocked by the user"
    wait_for(lambda: "bloccato" in browser.find_element(By.ID, "users-part").text)
    block.click()
    wait_for(lambda: block.text == "Blocca il bot")
    assert bot_api(sandbox_url, "sendMessage", chat_id=USER, text="Eccoci")[0] == 200
    wait_for(lambda: any("Eccoci" in b for b in bubbles("#chat .from-bot")))
    kinds = [u for u in bot_api(sandbox_url, "getUpdates", offset=2)[1]["result"]]
    statuses = [u["my_chat_member"]["new_chat_member"]["status"] for u in kinds]
    assert statuses == ["kicked", "member"]

    assert browser.execute_script("return window.sameDocument") is True  # never reloaded
    assert console_errors(browser) == []  # the CSP refused nothing the page needs
    assert_accessible(browser, "/_sandbox/telegram/")
    screenshot(browser, "sandbox-telegram-page")

    screen(browser, PHONE)
    browser.get(browser.current_url)
    wait_for(lambda: any("Eccoci" in b for b in bubbles("#chat .from-bot")))
    assert browser.find_element(By.ID, "user").get_attribute("value") == str(USER)
    assert fits_the_screen(browser)
    # On a phone the chat comes first, what to write right below it, then the channel.
    tops = [browser.find_element(By.ID, i).rect["y"] for i in ("chat", "compose", "posts")]
    assert tops == sorted(tops)
    screenshot(browser, "sandbox-telegram-page-phone")
    assert console_errors(browser) == []
