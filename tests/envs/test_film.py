"""A film takes its name only when it is closed: until then it is ``NAME.part.mp4``, so a
process killed while filming leaves no half film under the name asked for."""

from __future__ import annotations

import pytest

from tests.films import film_frames
from workbench.envs.env import make_env
from workbench.envs.film import Film


def test_a_film_is_named_when_closed_and_removed_when_it_fails(tmp_path):
    env = make_env("Reach")
    env.reset(seed=0)
    path, part = tmp_path / "reach.mp4", tmp_path / "reach.part.mp4"
    film = Film(env, path, size=(64, 48))
    for _ in range(60):  # past the encoder's delay: packets are on disk
        film.shoot()
    assert part.is_file() and not path.exists()  # mid-film: no file under the name
    film.close()
    film.close()  # a second close changes nothing
    assert path.is_file() and not part.exists()
    assert len(film_frames(path)[0]) == 60

    failed = tmp_path / "failed.mp4"
    with pytest.raises(RuntimeError, match="stopped"), Film(env, failed, size=(64, 48)) as film:
        for _ in range(60):
            film.shoot()
        raise RuntimeError("stopped")
    assert list(tmp_path.iterdir()) == [path]  # nothing left of the failed film
    env.close()
