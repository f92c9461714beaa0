"""Small builders for the public pages' tests."""

from banditore.subscribers.models import Zone

UA = "Mozilla/5.0 (Linux; Android 14) Mobile Safari/537.36"


def make_zone(org, slug: str, name: str, position: int = 0) -> Zone:
    return Zone.objects.create(organization=org, slug=slug, name=name, position=position)


def form(org=None, **overrides) -> dict:
    """A sign-up as a person would send it: a messy number, the privacy box ticked."""
    data = {"phone": "333.9135528", "privacy": "on", "name": "", "website": ""}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def sign_up(client, url: str = "/iscriviti", **overrides):
    return client.post(url, form(**overrides), HTTP_USER_AGENT=UA)


def signed_up_page(client, url: str = "/iscriviti", **overrides):
    """Send the form, follow the redirect; the confirmation page's response."""
    response = sign_up(client, url, **overrides)
    assert response.status_code == 302, response.content.decode()[:2000]
    return client.get(response["Location"])


def press(driver, element) -> None:
    """Click as a person would, after bringing it on screen: Bootstrap Italia scrolls
    smoothly, and selenium's own scroll would click where the element is not yet."""
    driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", element
    )
    element.click()


def send_the_form(driver) -> None:
    from selenium.webdriver.common.by import By

    press(driver, driver.find_element(By.CSS_SELECTOR, "form.signup-form button[type=submit]"))
