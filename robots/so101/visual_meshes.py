"""Light copies of the SO-101's meshes for drawing it: ``python -m robots.so101.visual_meshes``.

The wheel's meshes (onshape-to-robot exports of the CAD) hold 322,564 triangles: a 640x480
frame of Push with the SO-101 took 75 ms on Mesa's CPU renderer with them and 22 ms with these
copies, a step's two 84x84 camera frames 172 and 30 ms (docs/BENCHMARKS.md, "Rendering"). Each
mesh is decimated to the smallest of a tenth, a fifth or two fifths of its triangles that keeps
within ``TOLERANCE``, by open3d's quadric decimation (Garland and Heckbert's error metric,
which keeps flat faces and sharp edges where a uniform one rounds them), after merging the
STL's repeated vertices so that neighbouring triangles share them. The copies, written to
``assets/robots/so101/visual/`` (Apache-2.0, as the originals), stray at most ``TOLERANCE``
from the originals' surfaces, under a pixel at the cameras' distances. Only the drawn geoms use
them: collisions keep the original meshes, so the physics is unchanged.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from workbench.assets import asset

FOLDER = asset("robots", "so101", "visual")
SHARES = (0.1, 0.2, 0.4)  # of each mesh's triangles kept: the first within TOLERANCE
TOLERANCE = 0.0005  # m: the farthest a light mesh's surface may stray from the original's
MARGIN = 0.8  # of TOLERANCE, kept when making them: the deviation is measured on sampled points


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


def main() -> None:
    import open3d as o3d

    from robots.so101 import model_folder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    FOLDER.mkdir(parents=True, exist_ok=True)
    for original in sorted((model_folder() / "assets").glob("*.stl")):
        out = FOLDER / original.name
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
        print(f"{original.name}: {len(light.triangles)} triangles ({share:.0%}), strays "
              f"{strayed * 1000:.2f} mm at most")


if __name__ == "__main__":
    main()
