"""Projects against a real server: the reference's example, CRUD and pagination."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tengineai import NotFoundError, Page, Project, TengineAI, ValidationError


def test_the_reference_example_runs_as_written(server):
    from tengineai import TengineAI

    client = TengineAI(api_key=server.api_key, base_url=server.url)

    # Create a project
    project = client.projects.create(
        name='My Project',
        description='A sample project'
    )

    assert isinstance(project, Project)
    assert project.id.startswith("proj_")
    assert project.name == "My Project"
    assert project.description == "A sample project"
    assert project.created_at.tzinfo is not None
    assert project.created_at.utcoffset().total_seconds() == 0
    assert abs((datetime.now(timezone.utc) - project.created_at).total_seconds()) < 300
    client.close()


def test_a_created_project_can_be_retrieved_listed_updated_and_deleted(client: TengineAI):
    created = client.projects.create(name="  CRUD project  ", description="first")
    assert created.name == "CRUD project"  # stored trimmed

    fetched = client.projects.retrieve(created.id)
    assert fetched == created
    assert client.projects.get(created.id) == created

    page = client.projects.list(per_page=100)
    assert isinstance(page, Page)
    assert created.id in [p.id for p in page.data]

    renamed = client.projects.update(created.id, name="Renamed")
    assert renamed.name == "Renamed"
    assert renamed.description == "first"  # absent field left unchanged
    assert renamed.updated_at >= created.updated_at

    cleared = client.projects.update(created.id, description=None)
    assert cleared.description is None
    assert cleared.name == "Renamed"

    assert client.projects.delete(created.id) is None
    with pytest.raises(NotFoundError) as err:
        client.projects.retrieve(created.id)
    assert err.value.code == "PROJECT_NOT_FOUND"
    assert err.value.status == 404


def test_an_empty_name_is_a_validation_error_naming_the_field(client: TengineAI):
    with pytest.raises(ValidationError) as err:
        client.projects.create(name="   ")
    assert err.value.status == 422
    assert err.value.code == "VALIDATION_ERROR"
    assert err.value.field == "name"
    assert err.value.request_id


def test_updating_a_project_with_an_unknown_field_is_refused_before_sending(client: TengineAI, project):
    with pytest.raises(TypeError):
        client.projects.update(project.id, colour="blue")


def test_list_pages_report_pagination_and_has_next(client: TengineAI):
    for i in range(3):
        client.projects.create(name=f"paged {i}")
    first = client.projects.list(page=1, per_page=2)
    assert first.pagination.page == 1
    assert first.pagination.per_page == 2
    assert first.pagination.total >= 3
    assert len(first.data) == 2
    assert first.has_next()
    last_page = (first.pagination.total + 1) // 2
    last = client.projects.list(page=last_page, per_page=2)
    assert not last.has_next()
    # newest first
    assert first.data[0].created_at >= first.data[1].created_at


def test_list_all_yields_every_project_across_pages(client: TengineAI):
    created = {client.projects.create(name=f"bulk {i}").id for i in range(25)}
    total = client.projects.list(per_page=1).pagination.total

    small_pages = [p.id for p in client.projects.list_all(per_page=10)]
    assert len(small_pages) == total
    assert len(set(small_pages)) == total
    assert created <= set(small_pages)

    default_pages = [p.id for p in client.projects.list_all()]
    assert default_pages == small_pages


def test_list_all_is_lazy(client: TengineAI):
    for i in range(3):
        client.projects.create(name=f"lazy {i}")
    it = client.projects.list_all(per_page=1)
    first = next(it)
    assert isinstance(first, Project)


def test_cursor_pages_walk_the_list_both_ways_like_numbered_pages(client: TengineAI):
    for i in range(5):
        client.projects.create(name=f"cursor {i}")
    numbered = [p.id for p in client.projects.list_all()]
    first = client.projects.list(per_page=2)
    walked = [p.id for p in first.data]
    page = first
    while page.has_next():
        page = client.projects.list(per_page=2, starting_after=page.data[-1].id)
        assert page.pagination.page is None, "a cursor page has no page number"
        assert page.pagination.total == first.pagination.total
        walked += [p.id for p in page.data]
    assert walked == numbered
    back = client.projects.list(per_page=2, ending_before=numbered[3])
    assert [p.id for p in back.data] == numbered[1:3]
    assert back.has_next(), "newer items remain before the page"
    with pytest.raises(ValidationError) as err:
        client.projects.list(page=2, starting_after=numbered[0])
    assert err.value.field == "page"
    with pytest.raises(ValidationError) as err:
        client.projects.list(starting_after="proj_0000000000000000000000")
    assert err.value.field == "starting_after"
