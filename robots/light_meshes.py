"""Light copies of the published robots' meshes for drawing them: ``python -m robots.light_meshes``.

The SO-101's wheel ships its meshes as exported from CAD, 322,564 triangles, on which Mesa's
CPU renderer spent three quarters of a 640x480 frame (docs/BENCHMARKS.md, "Rendering"). Each
drawn mesh is decimated here to the smallest of a tenth, a fifth or two fifths of its
triangles that keeps within ``TOLERANCE`` of the original's surface, by open3d's quadric
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

SHARES = (0.1, 0.2, 0.4)  # of each mesh's triangles kept: the first within TOLERANCE
TOLERANCE = 0.0005  # m: the farthest a light mesh's surface may stray from the original's
MARGIN = 0.8  # of TOLERANCE, kept when making them: the deviation is measured on sampled points


def folder(robot: str) -> Path:
    return asset("robots", robot, "visual")


def draw_light(spec: mujoco.MjSpec, robot: str) -> None:
    """Point every mesh geom that collides with nothing at the light copy of its mesh (the
    same file name in ``folder(robot)``, the same scale); meshes no geom uses are deleted."""
    light: dict[str, str] = {}
    for geom in spec.geoms:
        if geom.type != mujoco.mjtGeom.mjGEOM_MESH or geom.contype or geom.conaffinity:
            continue
        if geom.meshname not in light:
            mesh = spec.mesh(geom.meshname)
            copy = spec.add_mesh(name=f"{mesh.name}_light",
                                 file=str(folder(robot) / Path(mesh.file).name))
            copy.scale = mesh.scale
            light[mesh.name] = copy.name
        geom.meshname = light[geom.meshname]
    used = {geom.meshname for geom in spec.geoms}
    for mesh in list(spec.meshes):
        if mesh.name not in used:
            spec.delete(mesh)


def drawn_originals() -> dict[str, list[Path]]:
    """Per robot, the wheel's mesh files its drawn geoms use. Not the Panda: its drawn meshes
    (133,000 triangles) strayed over 0.4 mm at two fifths of their triangles on four of ten (a
    one-off run of :func:`make` on them, 2026-12-07), so a frame would gain little (a Push frame
    with the Panda: 43-51 ms, `python benchmarks/robot_drawing.py --robot panda --scenes Push`;
    with the SO-101's light meshes 22-25)."""
    from robots.so101 import model_folder as so101

    return {"so101": sorted((so101() / "assets").glob("*.stl"))}  # drawn and colliding


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


def make(robot: str, originals: list[Path]) -> None:
    import open3d as o3d

    folder(robot).mkdir(parents=True, exist_ok=True)
    for original in originals:
        out = folder(robot) / original.name
        for share in SHARES:
            light = decimated(original, share)
            o3d.io.write_triangle_mesh(str(out), light, write_ascii=False)
            strayed = deviation(original, out)
            if strayed <= MARGIN * TOLERANCE:
                break
        else:
            raise SystemExit(f"{original.name} strays {strayed * 1000:.2f} mm even with "
                             f"{SHARES[-1]:.0%} of its triangles, more than "
                             f"{MARGIN * TOLERANCE * 1000:.1f} mm")
        print(f"{robot}/{original.name}: {len(light.triangles)} triangles ({share:.0%}), "
              f"strays {strayed * 1000:.2f} mm at most")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--robots", nargs="+", default=list(drawn_originals()))
    args = parser.parse_args()
    for robot, originals in drawn_originals().items():
        if robot in args.robots:
            make(robot, originals)


if __name__ == "__main__":
    main()
