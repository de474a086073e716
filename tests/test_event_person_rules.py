"""The rules an event about a person meets over the API, as a roster row meets them: officer ages, term
lengths, names, phones, birth dates, and the same rules after corrections move events."""

from datetime import date
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support import Keys, corrected, enrolled, ledger_size, nik, registered

KPPS: dict[str, Any] = {"valid_from": "2024-01-25", "valid_to": "2024-02-24"}


async def post(client: AsyncClient, secret: str, events: list[dict[str, Any]], **extra: Any) -> Any:
    return await client.post("/v1/events", json={"events": events, **extra}, headers=Keys.header(secret))


async def test_an_officer_too_young_or_not_yet_born_is_refused_as_a_roster_row_is(
    client: AsyncClient, keys: Keys, session: AsyncSession
) -> None:
    """The roster refused these rows (`officer_too_young`, `term_before_birth`) while the API took
    them: a 13-year-old KPPS member, a term a year before the officer's birth."""
    young = nik(born=date(2010, 3, 4))
    unborn = nik(born=date(1999, 3, 4))
    before = await ledger_size(session)
    same_batch = await post(
        client,
        keys.admin,
        [
            {**registered(young), "birth_date": "2010-03-04"},
            enrolled(young, event_id="e-young", **KPPS),
            {**registered(unborn), "birth_date": "1999-03-04"},
            enrolled(unborn, event_id="e-unborn", valid_from="1998-01-25", valid_to="1998-02-24"),
        ],
    )
    assert same_batch.status_code == 422, same_batch.text
    assert [(e["code"], e["field"]) for e in same_batch.json()["errors"]] == [
        ("officer_too_young", "events[1].valid_from"),
        ("term_before_birth", "events[3].valid_from"),
    ]
    unnamed = same_batch.text.replace(young, "").replace(unborn, "")  # (a NIK's serial could read 2010)
    assert "2010" not in unnamed and "1999" not in unnamed  # the registration's date
    assert await ledger_size(session) == before

    # a registration already stored gives the birth date too; one that gives none is not guessed at
    assert (
        await post(client, keys.admin, [{**registered(young), "birth_date": "2010-03-04"}])
    ).status_code == 200
    later = await post(client, keys.committee, [enrolled(young, event_id="e-young-2", **KPPS)])
    assert later.status_code == 422 and later.json()["errors"][0]["code"] == "officer_too_young"
    seventeen = await post(
        client,
        keys.committee,
        [enrolled(young, event_id="e-young-3", valid_from="2027-03-04", valid_to="2027-04-04")],
    )
    assert seventeen.status_code == 200, seventeen.text  # on the 17th birthday
    undated = nik(born=date(2010, 5, 6))
    assert (
        await post(
            client, keys.committee, [registered(undated), enrolled(undated, event_id="e-undated", **KPPS)]
        )
    ).status_code == 200

    # the birth date that counts is the one in force once the batch is (found by a review): a
    # batch correcting the registration to one without a date takes the enrolment; a batch naming
    # the date in a correction after the enrolment refuses it
    undone = await post(
        client,
        keys.admin,
        [
            corrected("fix-young", [f"reg-{young}"], replacement=registered(young, event_id="reg-young-2")),
            enrolled(young, event_id="e-young-4", **KPPS),
        ],
    )
    assert undone.status_code == 200, undone.text
    late = nik(born=date(2010, 7, 8))
    assert (await post(client, keys.admin, [registered(late)])).status_code == 200
    dated_after = await post(
        client,
        keys.admin,
        [
            enrolled(late, event_id="e-late", **KPPS),
            corrected(
                "fix-late",
                [f"reg-{late}"],
                replacement={**registered(late, event_id="reg-late-2"), "birth_date": "2010-07-08"},
            ),
        ],
    )
    assert dated_after.status_code == 422, dated_after.text
    assert [(e["code"], e["field"]) for e in dated_after.json()["errors"]] == [
        ("officer_too_young", "events[0].valid_from")
    ]


async def test_a_term_over_three_years_is_refused_as_a_roster_row_is(
    client: AsyncClient, keys: Keys, session: AsyncSession
) -> None:
    """The roster refused a term over three years (`term_too_long`, a mistyped year such as 2042
    for 2024) while the API stored it; a term of exactly three years still passes."""
    person = nik()
    assert (await post(client, keys.admin, [registered(person)])).status_code == 200
    before = await ledger_size(session)
    typo = await post(
        client,
        keys.committee,
        [enrolled(person, event_id="e-typo", valid_from="2024-01-25", valid_to="2042-02-24")],
    )
    assert typo.status_code == 422, typo.text
    assert [(e["code"], e["field"]) for e in typo.json()["errors"]] == [
        ("term_too_long", "events[0].valid_to")
    ]
    assert "mistyped" in typo.json()["errors"][0]["message"]
    assert await ledger_size(session) == before
    three_years = await post(
        client,
        keys.committee,
        [enrolled(person, event_id="e-three", valid_from="2022-10-01", valid_to="2025-10-01")],
    )
    assert three_years.status_code == 200, three_years.text


async def test_a_registration_corrected_later_keeps_the_officer_age_rule(
    client: AsyncClient, keys: Keys, session: AsyncSession
) -> None:
    """A KPPS term enrolled while the registration gave no birth date, then the registration
    corrected to a birth date that makes the officer 13 when the term starts: the API and the
    roster refuse such a term when it is enrolled, and the correction made one all the same."""
    person = nik(born=date(2010, 3, 4))
    assert (
        await post(client, keys.admin, [registered(person), enrolled(person, event_id="e-kpps", **KPPS)])
    ).status_code == 200
    dated = {**registered(person, event_id="reg-dated"), "birth_date": "2010-03-04"}
    before = await ledger_size(session)
    refused = await post(client, keys.admin, [corrected("fix-dated", [f"reg-{person}"], replacement=dated)])
    assert refused.status_code == 409, refused.text
    assert [(e["code"], e["field"]) for e in refused.json()["errors"]] == [
        ("officer_too_young", "events[0].replacement.birth_date")
    ]
    unnamed = refused.text.replace(person, "")  # (a NIK's serial could read 2010)
    assert "2010" not in unnamed and "2024" not in unnamed  # the term may be another region's
    assert await ledger_size(session) == before

    # a birth date after the term starts: the other code
    baby = nik(born=date(2024, 3, 4))
    assert (
        await post(client, keys.admin, [registered(baby), enrolled(baby, event_id="e-baby", **KPPS)])
    ).status_code == 200
    born_later = {**registered(baby, event_id="reg-born"), "birth_date": "2024-03-04"}
    not_yet = await post(client, keys.admin, [corrected("fix-born", [f"reg-{baby}"], replacement=born_later)])
    assert not_yet.status_code == 409, not_yet.text
    assert [(e["code"], e["field"]) for e in not_yet.json()["errors"]] == [
        ("term_before_birth", "events[0].replacement.birth_date")
    ]
    # a correction to a birth date 17 years or more before the term is taken
    adult = {**registered(baby, event_id="reg-adult"), "birth_date": "1924-03-04"}
    assert (
        await post(client, keys.admin, [corrected("fix-adult", [f"reg-{baby}"], replacement=adult)])
    ).status_code == 200
    # the same correction with the term retracted in the batch is taken
    taken = await post(
        client,
        keys.admin,
        [corrected("drop-kpps", ["e-kpps"]), corrected("fix-dated", [f"reg-{person}"], replacement=dated)],
    )
    assert taken.status_code == 200, taken.text


async def test_a_name_garbled_on_its_way_is_refused_as_a_roster_row_is(
    client: AsyncClient, keys: Keys, session: AsyncSession
) -> None:
    """UTF-8 read as Windows-1252 (`DÃ©sirÃ©e` for `Désirée`) was refused in a roster row
    (`garbled_text`) but stored from the API, where it would have been printed in every report."""
    person = nik()
    before = await ledger_size(session)
    garbled = await post(client, keys.admin, [registered(person, name="DÃ©sirÃ©e Siregar")])
    assert garbled.status_code == 422, garbled.text
    assert [(e["code"], e["field"]) for e in garbled.json()["errors"]] == [("garbled_text", "events[0].name")]
    assert "Siregar" not in garbled.text  # a name is personal data; problems are logged
    assert await ledger_size(session) == before
    assert (await post(client, keys.admin, [registered(person, name="Désirée Siregar")])).status_code == 200


@pytest.mark.parametrize(
    ("phone", "code"),
    [
        ("81234567890", "phone_leading_zero_lost"),  # a number column dropped the 0
        ("+1 555 0100", "invalid_phone"),
        ("+62 0812 3456 789", "invalid_phone"),
        ("tidak ada", "invalid_phone"),
        ("0812", "invalid_phone"),
        ("٠٨١٢٣٤٥٦٧٨٩٠", "invalid_phone"),  # Arabic-Indic digits
        ("0812 3456 7890 / 0813 1111 2222", "invalid_phone"),  # two numbers
    ],
)
async def test_a_phone_is_an_indonesian_number_as_in_a_roster(
    client: AsyncClient, keys: Keys, session: AsyncSession, phone: str, code: str
) -> None:
    """A registration's phone was any visible text on the API, while a roster row's must be
    08… or +62…; the number is not echoed (a phone is personal data)."""
    person = nik()
    before = await ledger_size(session)
    refused = await post(client, keys.admin, [{**registered(person), "phone": phone}])
    assert refused.status_code == 422, refused.text
    assert [(e["code"], e["field"]) for e in refused.json()["errors"]] == [(code, "events[0].phone")]
    assert phone not in refused.text
    assert await ledger_size(session) == before


async def test_phones_written_as_people_write_them_are_taken(client: AsyncClient, keys: Keys) -> None:
    """Including the en dashes and no-break spaces a word processor or a web page puts in (a
    review found them refused), the 00 international prefix, and "" or "-" for no phone."""
    for phone in [
        "0812-3456-7890",
        "+62 812 3456 7890",
        "(0711) 352 111",
        "+6281234567890",
        "0812\u20133456\u20137890",
        "0812\u00a03456\u00a07890",
        "0062 812 3456 7890",
        "",
        "-",
    ]:
        response = await post(client, keys.admin, [{**registered(nik()), "phone": phone}])
        assert response.status_code == 200, (phone, response.text)


async def test_a_term_brought_back_by_a_correction_keeps_the_officer_age_rule(
    client: AsyncClient, keys: Keys, session: AsyncSession
) -> None:
    """A KPPS term enrolled while the registration was undated, retracted, the registration then
    dated to make the officer 13 at the term's start, and the retraction superseded: that brought
    the term back into force, past the rule its enrolment would now be refused by."""
    person = nik(born=date(2010, 3, 4))
    dated = {**registered(person, event_id="reg-dated-r"), "birth_date": "2010-03-04"}
    for batch in (
        [registered(person), enrolled(person, event_id="e-back", **KPPS)],
        [corrected("drop-back", ["e-back"])],
        [corrected("date-back", [f"reg-{person}"], replacement=dated)],
    ):
        response = await post(client, keys.admin, batch)
        assert response.status_code == 200, response.text
    before = await ledger_size(session)
    back = await post(client, keys.admin, [corrected("undo-drop", ["drop-back"])])
    assert back.status_code == 409, back.text
    assert [(e["code"], e["field"]) for e in back.json()["errors"]] == [
        ("officer_too_young", "events[0].supersedes")
    ]
    # the refusal names the correction that brings the term back, not the batch's first (a
    # review found the first blamed)
    other = nik()
    assert (await post(client, keys.admin, [registered(other)])).status_code == 200
    before = await ledger_size(session)
    renamed = registered(other, event_id=f"renamed-{other}", name="Siti Aminah Putri")
    second = await post(
        client,
        keys.admin,
        [corrected("rename", [f"reg-{other}"], replacement=renamed), corrected("undo-drop", ["drop-back"])],
    )
    assert second.status_code == 409, second.text
    assert [(e["code"], e["field"]) for e in second.json()["errors"]] == [
        ("officer_too_young", "events[1].supersedes")
    ]
    assert await ledger_size(session) == before
    # with the registration's date undone in the same batch, the term may come back
    undated = registered(person, event_id="reg-undated-r")
    both = await post(
        client,
        keys.admin,
        [corrected("undo-drop", ["drop-back"]), corrected("undate", ["reg-dated-r"], replacement=undated)],
    )
    assert both.status_code == 200, both.text


async def test_an_event_already_superseded_cannot_be_corrected_again(
    client: AsyncClient, keys: Keys, session: AsyncSession
) -> None:
    """Found by a concurrency probe: a retraction of a term another correction had already
    superseded answered 200 and changed nothing, and a second correction of it put a second term
    in force beside the first one's replacement."""
    person = nik()
    ok = await post(client, keys.admin, [registered(person), enrolled(person, event_id="t-once", **KPPS)])
    assert ok.status_code == 200, ok.text
    first = await post(
        client,
        keys.committee,
        [
            corrected(
                "fix-once",
                ["t-once"],
                replacement=enrolled(
                    person, event_id="t-once-2", valid_from="2024-01-26", valid_to="2024-02-24"
                ),
            )
        ],
    )
    assert first.status_code == 200, first.text
    before = await ledger_size(session)
    for late in (
        corrected("drop-once", ["t-once"]),
        corrected(
            "fix-twice",
            ["t-once"],
            replacement=enrolled(person, event_id="t-once-3", valid_from="2024-03-01", valid_to="2024-03-20"),
        ),
    ):
        refused = await post(client, keys.committee, [late])
        assert refused.status_code == 409, refused.text
        [error] = refused.json()["errors"]
        assert (error["code"], error["field"]) == ("already_superseded", "events[0].supersedes[0]")
        assert "fix-once" in error["message"]
    # one batch naming an event twice is refused too
    twice = await post(
        client, keys.committee, [corrected("a-twice", ["t-once-2"]), corrected("b-twice", ["t-once-2"])]
    )
    assert twice.status_code == 409, twice.text
    assert [(e["code"], e["field"]) for e in twice.json()["errors"]] == [
        ("already_superseded", "events[1].supersedes[0]")
    ]
    assert await ledger_size(session) == before
    # the winner's replacement may be corrected, and the winner itself superseded to undo it
    assert (await post(client, keys.committee, [corrected("drop-2", ["t-once-2"])])).status_code == 200
    assert (await post(client, keys.admin, [corrected("undo-fix", ["fix-once"])])).status_code == 200


async def test_the_officer_age_rule_reads_the_registration_the_cascade_leaves_in_force(
    client: AsyncClient, keys: Keys, session: AsyncSession
) -> None:
    """Found by a review: the birth date was taken from the registrations a batch names, not from
    the one in force once its corrections cascade. Superseding the correction of a registration
    brings the old registration back and withdraws the new one."""

    async def ok(*events: dict[str, Any]) -> None:
        response = await post(client, keys.admin, list(events))
        assert response.status_code == 200, response.text

    def dated(person: str, event_id: str) -> dict[str, Any]:
        return {**registered(person, event_id=event_id), "birth_date": "2010-03-04"}

    # dated 2010, corrected to undated, a term enrolled: undoing the correction brings 2010 back
    first = nik(born=date(2010, 3, 4))
    await ok(dated(first, f"reg-{first}"))
    await ok(
        corrected(f"undate-{first}", [f"reg-{first}"], replacement=registered(first, event_id=f"u-{first}"))
    )
    await ok(enrolled(first, event_id=f"t-{first}", **KPPS))
    before = await ledger_size(session)
    undo = await post(client, keys.admin, [corrected(f"undo-{first}", [f"undate-{first}"])])
    assert undo.status_code == 409, undo.text
    assert [(e["code"], e["field"]) for e in undo.json()["errors"]] == [
        ("officer_too_young", "events[0].supersedes")
    ]
    assert await ledger_size(session) == before
    # the same undo with a new term in the batch: the term is refused
    second = nik(born=date(2010, 3, 4))
    await ok(dated(second, f"reg-{second}"))
    await ok(
        corrected(
            f"undate-{second}", [f"reg-{second}"], replacement=registered(second, event_id=f"u-{second}")
        )
    )
    before = await ledger_size(session)
    both = await post(
        client,
        keys.admin,
        [corrected(f"undo-{second}", [f"undate-{second}"]), enrolled(second, event_id=f"t-{second}", **KPPS)],
    )
    assert both.status_code == 422, both.text
    assert [(e["code"], e["field"]) for e in both.json()["errors"]] == [
        ("officer_too_young", "events[1].valid_from")
    ]
    assert await ledger_size(session) == before

    # undated, a term enrolled and retracted, then dated 2010: undoing both is taken (the
    # registration that comes back gives no birth date), and so is a term with the dating undone
    third = nik(born=date(2010, 3, 4))
    await ok(registered(third), enrolled(third, event_id=f"t-{third}", **KPPS))
    await ok(corrected(f"drop-{third}", [f"t-{third}"]))
    await ok(corrected(f"date-{third}", [f"reg-{third}"], replacement=dated(third, f"d-{third}")))
    await ok(
        corrected(f"undo-date-{third}", [f"date-{third}"]), corrected(f"undo-drop-{third}", [f"drop-{third}"])
    )
    fourth = nik(born=date(2010, 3, 4))
    await ok(registered(fourth))
    await ok(corrected(f"date-{fourth}", [f"reg-{fourth}"], replacement=dated(fourth, f"d-{fourth}")))
    await ok(
        corrected(f"undo-date-{fourth}", [f"date-{fourth}"]), enrolled(fourth, event_id=f"t-{fourth}", **KPPS)
    )


async def test_redoing_a_correction_of_an_event_corrected_again_since_is_refused(
    client: AsyncClient, keys: Keys, session: AsyncSession
) -> None:
    """Found by a review: a correction undone, its target corrected again, then the undoing
    superseded (a redo) left two corrections of one term in force, and two terms."""
    person = nik()

    def term(event_id: str, start: str, end: str) -> dict[str, Any]:
        return enrolled(person, event_id=event_id, valid_from=start, valid_to=end)

    for batch in (
        [registered(person), term("e-redo", "2024-01-25", "2024-02-24")],
        [corrected("c1-redo", ["e-redo"], replacement=term("r1-redo", "2024-01-26", "2024-02-24"))],
        [corrected("u1-redo", ["c1-redo"])],  # the term is back
        [corrected("c3-redo", ["e-redo"], replacement=term("r3-redo", "2024-06-01", "2024-06-30"))],
    ):
        response = await post(client, keys.admin, batch)
        assert response.status_code == 200, response.text
    before = await ledger_size(session)
    redo = await post(client, keys.admin, [corrected("redo-c1", ["u1-redo"])])
    assert redo.status_code == 409, redo.text
    [error] = redo.json()["errors"]
    assert (error["code"], error["field"]) == ("already_superseded", "events[0].supersedes")
    assert "c3-redo" in error["message"]
    assert await ledger_size(session) == before
    # with the later correction undone in the same batch, the redo is taken
    both = await post(
        client, keys.admin, [corrected("undo-c3", ["c3-redo"]), corrected("redo-c1", ["u1-redo"])]
    )
    assert both.status_code == 200, both.text


async def test_a_birth_to_come_or_a_registration_before_birth_is_refused_as_a_roster_row_is(
    client: AsyncClient, keys: Keys, session: AsyncSession
) -> None:
    """Found by a date probe: a roster refused a birth date after the upload's day
    (`day_in_future`) and a `registered_on` before the officer's birth (`registered_before_birth`);
    the API took both."""
    before = await ledger_size(session)
    unborn = nik(born=date(2099, 1, 5))
    born_later = await post(client, keys.admin, [{**registered(unborn), "birth_date": "2099-01-05"}])
    assert born_later.status_code == 422, born_later.text
    assert [(e["code"], e["field"]) for e in born_later.json()["errors"]] == [
        ("day_in_future", "events[0].birth_date")
    ]
    officer = nik(born=date(1990, 3, 4))
    early = enrolled(officer, event_id="e-early", registered_on="1989-12-31", **KPPS)
    refused = await post(client, keys.admin, [{**registered(officer), "birth_date": "1990-03-04"}, early])
    assert refused.status_code == 422, refused.text
    assert [(e["code"], e["field"]) for e in refused.json()["errors"]] == [
        ("registered_before_birth", "events[1].registered_on")
    ]
    assert "1990" not in refused.text.replace(officer, "")  # the registration's personal field
    assert await ledger_size(session) == before
    on_the_day = early | {"event_id": "e-on-time", "registered_on": "1990-03-04"}
    accepted = await post(
        client, keys.admin, [{**registered(officer), "birth_date": "1990-03-04"}, on_the_day]
    )
    assert accepted.status_code == 200, accepted.text


async def test_a_term_ending_on_the_last_day_a_date_may_name_can_be_written_and_restated(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a date probe: a roster committed a term ending 31 Dec 2099 (valid_to 2100-01-01)
    that the API refused as out of range, even as a correction restating it."""
    person = nik()
    term = enrolled(person, event_id="e-2099", valid_from="2099-12-01", valid_to="2100-01-01")
    assert (await post(client, keys.admin, [registered(person), term])).status_code == 200
    restated = corrected("restate-2099", supersedes=["e-2099"], replacement=term | {"event_id": "e-2099-b"})
    assert (await post(client, keys.admin, [restated])).status_code == 200
    beyond = enrolled(person, event_id="e-2100", valid_from="2099-12-01", valid_to="2100-01-02")
    refused = await post(client, keys.admin, [beyond])
    assert refused.status_code == 422, refused.text
    assert [(e["code"], e["field"]) for e in refused.json()["errors"]] == [
        ("date_out_of_range", "events[0].valid_to")
    ]
