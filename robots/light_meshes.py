"""Light copies of the published robots' meshes for drawing them: ``python -m robots.light_meshes``.

The SO-101's wheel ships its meshes as exported from CAD, 322,564 triangles, on which Mesa's
CPU renderer spent three quarters of a 640x480 frame (docs/BENCHMARKS.md, "Rendering"); the
Panda's drawn meshes have 134,000. Each is decimated here to the smallest of a tenth, a fifth,
two fifths or three fifths of its triangles that keeps within the robot's ``TOLERANCE`` of the
original's surface, by open3d's quadric
decimation (Garland and Heckbert's error metric, which keeps flat faces and sharp edges where
a uniform one rounds them), after merging the STL's repeated vertices so that neighbouring
triangles share them. The copies live in ``assets/robots/<robot>/visual/`` under their
originals' licence (Apache-2.0). :func:`draw_light` points the geoms that only draw at them;
the colliding geoms keep the originals, so the physics is unchanged.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import mujoco
import numpy as np

from workbench.assets import asset

SHARES = (0.1, 0.2, 0.4, 0.6)  # of each mesh's triangles kept: the first within TOLERANCE
# m: the farthest a light mesh's surface may stray from the original's. The Panda's arm is
# nearly three times the SO-101's (70 cm to the wrist against 25); in the app's first view of
# a scene (1.4 m away, 640x480) a pixel spans about 2.4 mm.
TOLERANCE = {"so101": 0.0005, "panda": 0.001}
ROBOTS = tuple(TOLERANCE)
MARGIN = 0.8  # of TOLERANCE, kept when making them: the deviation is measured on sampled points


def folder(robot: str) -> Path:
    return asset("robots", robot, "visual")


def draw_light(spec: mujoco.MjSpec, robot: str) -> None:
    """Point every mesh geom that collides with nothing and draws one of
    ``drawn_originals(robot)`` at its light copy (the same file name in ``folder(robot)``, the
    same scale); meshes no geom uses are deleted."""
    originals = set(drawn_originals(robot))
    light: dict[str, str] = {}
    for geom in spec.geoms:
        if geom.type != mujoco.mjtGeom.mjGEOM_MESH or geom.contype or geom.conaffinity:
            continue
        mesh = spec.mesh(geom.meshname)
        if Path(spec.meshdir, mesh.file) not in originals:
            continue
        if geom.meshname not in light:
            copy = spec.add_mesh(name=f"{mesh.name}_light",
                                 file=str(folder(robot) / Path(mesh.file).name))
            copy.scale = mesh.scale
            light[mesh.name] = copy.name
        geom.meshname = light[geom.meshname]
    used = {geom.meshname for geom in spec.geoms}
    for mesh in list(spec.meshes):
        if mesh.name not in used:
            spec.delete(mesh)


def drawn_originals(robot: str) -> list[Path]:
    """The wheel's mesh files that the robot's drawn geoms use and that have light copies."""
    if robot == "so101":
        from robots.so101 import model_folder as so101

        return sorted((so101() / "assets").glob("*.stl"))  # drawn and colliding
    if robot == "panda":
        from robots.panda import model_folder as panda

        # Not its fingers': they draw collision/finger.stl, 624 triangles, nothing to gain.
        return sorted(p for p in (panda() / "meshes" / "visual").glob("*.stl")
                      if p.name != "finger.stl")
    raise ValueError(f"robot {robot!r} has no light meshes; those with them: {', '.join(ROBOTS)}")


def decimated(original: Path, share: float):
    """A light copy of one STL mesh with ``share`` of its triangles (an open3d TriangleMesh)."""
    import open3d as o3d

    mesh = o3d.io.read_triangle_mesh(str(original))
    mesh.remove_duplicated_vertices()  # an STL repeats each vertex once per triangle
    light = mesh.simplify_quadric_decimation(
        target_number_of_triangles=max(int(len(mesh.triangles) * share), 100))
    light.compute_triangle_normals()  # STL stores one normal per triangle
    return light


def deviation(original: Path, light: Path, points: int = 20_000) -> float:
    """The farthest either surface strays from the other (m), over points sampled on both."""
    import open3d as o3d

    o3d.utility.random.seed(0)
    meshes = [o3d.io.read_triangle_mesh(str(p)) for p in (original, light)]
    farthest = 0.0
    for source, target in (meshes, meshes[::-1]):
        scene = o3d.t.geometry.RaycastingScene()
        scene.add_triangles(o3d.t.geometry.TriangleMesh.from_legacy(target))
        sampled = np.asarray(source.sample_points_uniformly(points).points, np.float32)
        distances = scene.compute_distance(o3d.core.Tensor(sampled)).numpy()
        farthest = max(farthest, float(distances.max()))
    return farthest


def make(robot: str) -> None:
    import open3d as o3d

    folder(robot).mkdir(parents=True, exist_ok=True)
    tolerance = MARGIN * TOLERANCE[robot]
    for original in drawn_originals(robot):
        out = folder(robot) / original.name
        for share in SHARES:
            light = decimated(original, share)
            o3d.io.write_triangle_mesh(str(out), light, write_ascii=False)
            strayed = deviation(original, out)
            if strayed <= tolerance:
                break
        else:
            raise SystemExit(f"{original.name} strays {strayed * 1000:.2f} mm even with "
                             f"{SHARES[-1]:.0%} of its triangles, more than "
                             f"{tolerance * 1000:.1f} mm")
        print(f"{robot}/{original.name}: {len(light.triangles)} triangles ({share:.0%}), "
              f"strays {strayed * 1000:.2f} mm at most")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--robots", nargs="+", choices=ROBOTS, default=list(ROBOTS))
    for robot in parser.parse_args().robots:
        make(robot)


if __name__ == "__main__":
    main()
