"""Delimiter and encoding detection: the header decides between candidate separators."""
from __future__ import annotations

from crm.imports.detect import detect_delimiter, detect_encoding
from crm.imports.mapping import recognised_columns


def test_the_header_picks_the_separator_that_names_known_columns(admin):
    known = recognised_columns("contacts")
    assert detect_delimiter("Nombre;Apellidos;Correo electrónico\nJosé;Núñez, Peña;j@x.es\n", known) == ";"
    assert detect_delimiter('Email,Title\na@x.com,"Buyer; EMEA"\nb@x.com,"CFO; US"\n', known) == ","
    assert detect_delimiter("Email\tFirst Name\na@x.com\tAna\n", known) == "\t"
    assert detect_delimiter("Email|Phone\na@x.com|+34 1\n", known) == "|"
    assert detect_delimiter("foo,bar\n1,2\n", known) == ","  # nothing known: the sniffer's and the widths' choice


def test_encodings_utf8_bom_cp1252_and_not_a_central_european_guess():
    assert detect_encoding("\ufeffEmail\nzoë@x.com\n".encode("utf-8")) == "utf-8"
    assert detect_encoding("Email,Name\nz@x.com,Zoë Lefèvre\n".encode("utf-8")) == "utf-8"
    assert detect_encoding("Email,Name\nz@x.com,Zoë Lefèvre\n".encode("cp1252")) == "cp1252"
    assert detect_encoding("Nombre;Puesto\nÍñigo;Técnico de Planta\n".encode("cp1252")) == "cp1252"
