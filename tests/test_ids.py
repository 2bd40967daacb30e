"""Identifiers: the length asked for, only [A-Za-z0-9], every character as likely as another."""
import collections
import string

from vilvik_server import ids


def test_an_id_has_the_length_asked_for_and_only_letters_and_digits():
    for length in (1, 12, 40):
        made = ids.new_id(length)
        assert len(made) == length
        assert set(made) <= set(string.ascii_letters + string.digits)
    assert len(ids.new_id()) == 12


def test_every_character_is_about_as_likely():
    counts = collections.Counter("".join(ids.new_id() for _ in range(20_000)))  # 240,000 characters
    assert len(counts) == 62
    expected = 240_000 / 62  # ~3,871; a binomial spread of ~61, so 6 sigma is ~370
    assert all(abs(n - expected) < 400 for n in counts.values()), counts.most_common(3)


def test_ids_do_not_repeat():
    assert len({ids.new_id() for _ in range(10_000)}) == 10_000
