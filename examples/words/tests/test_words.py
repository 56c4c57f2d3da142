from words import count_words, longest_word


def test_count_words():
    assert count_words("the quick  brown fox") == 4


def test_count_words_empty():
    assert count_words("   ") == 0


def test_longest_word():
    assert longest_word("a bb ccc dd") == "ccc"


def test_longest_word_first_of_equals():
    assert longest_word("ab cd") == "ab"


def test_longest_word_empty():
    assert longest_word("") == ""
