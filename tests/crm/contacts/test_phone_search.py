"""Phone search (issue 20): digits match however the number is spaced or punctuated."""
from __future__ import annotations

from crm.contacts.services import search_contacts


def test_phone_search_finds_the_number_however_it_is_written(make_contact):
    wanted = make_contact(phone="+48 87 738 5193")
    make_contact(phone="+1 905 555-0184")
    assert [c.id for c in search_contacts("87 738-5193").items] == [wanted.id]
    assert [c.id for c in search_contacts("+48877385193").items] == [wanted.id]
