"""Counted nouns in the text the SDK and the `vilvik` command print: "1 run", "2 runs", never "1 runs"."""


def plural(count, singular, plural=None, spec=""):
    """The count, formatted with `spec`, and its noun: singular exactly when the number reads "1"."""
    text = format(count, spec)
    return f"{text} {singular if text == '1' else plural or singular + 's'}"
