"""The every-page check for internal ids: an id shown as text is found; one in a link, a form
field or a hover title, or a longer hash, is not."""

from __future__ import annotations

from playwright.sync_api import Browser

from tests.e2e.web.a11y import visible_ids

ID = "0123456789abcdef0123456789abcdef"


def test_visible_ids_finds_an_id_shown_as_text_only(browser: Browser) -> None:
    page = browser.new_page()
    page.set_content(
        f'<p><a href="/claims/{ID}" title="{ID}">Claim 1001</a> <input type="hidden" value="{ID}">'
        f"chain {ID}{ID} ok</p><p hidden>{ID}</p>"
    )
    assert visible_ids(page) == []
    page.set_content(f"<p>Patient {ID} (Jane Doe)</p>")
    assert visible_ids(page) == [ID]
    page.close()
