"""Counted nouns in messages and pages: "1 run", "2 runs", "1.5 seconds", never "1 runs".

Written here rather than taken from inflect: the server's nouns are few and regular, and an
irregular one names its plural ("process", "processes").
"""


def plural(count, singular, plural=None, spec=""):
    """The count, formatted with `spec`, and its noun: singular exactly when the number reads "1"."""
    text = format(count, spec)
    return f"{text} {singular if text == '1' else plural or singular + 's'}"
