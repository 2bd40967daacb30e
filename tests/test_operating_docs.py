"""The operator's guide lists every setting, exactly as the settings describe themselves."""
import os
import re

from vilvik_server.config import settings_table

DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs")


def test_the_operating_guide_holds_the_current_settings_table():
    with open(os.path.join(DOCS, "operating.md")) as handle:
        text = handle.read()
    match = re.search(r"<!-- settings table:.*?-->\n(.*?)\n<!-- end of settings table -->", text, re.S)
    assert match, "docs/operating.md lost its settings table markers"
    assert match.group(1) == settings_table(), "regenerate it with `vilvik-server settings`"
