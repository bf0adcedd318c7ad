"""Point clouds from rendered depth.

Back-projection is one vectorised numpy expression (no per-pixel Python); open3d then does what
it does well and we should not rewrite: cropping to a box and voxel down-sampling.
"""

from __future__ import annotations

import mujoco
import numpy as np

from workbench.sim.render import camera_intrinsics


def depth_to_points(
    model: mujoco.MjModel, data: mujoco.MjData, camera: str, depth: np.ndarray
) -> np.ndarray:
    """World-frame points (N, 3) for every pixel with finite depth of a named camera."""
    height, width = depth.shape
    k = camera_intrinsics(model, camera, width, height)
    v, u = np.indices((height, width), dtype=np.float32)
    z = depth.astype(np.float32)
    # MuJoCo cameras look along -z with +y up; image rows grow downwards.
    x_cam = (u - k[0, 2]) * z / k[0, 0]
    y_cam = -(v - k[1, 2]) * z / k[1, 1]
    points_cam = np.stack([x_cam, y_cam, -z], axis=-1).reshape(-1, 3)
    keep = np.isfinite(points_cam).all(axis=1) & (z.reshape(-1) < model.stat.extent * 10)
    cam = data.camera(camera)
    rotation = cam.xmat.reshape(3, 3)
    return points_cam[keep] @ rotation.T.astype(np.float32) + cam.xpos.astype(np.float32)


def fuse_point_cloud(
    clouds: list[np.ndarray],
    bounds: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None,
    voxel_size: float = 0.01,
    frame_origin: np.ndarray | None = None,
    frame_rotation: np.ndarray | None = None,
) -> np.ndarray:
    """Merge clouds, crop to ``bounds`` (world frame), voxel-downsample, express in a frame."""
    import open3d as o3d  # heavy import; only paid when point clouds are used

    points = np.concatenate(clouds, axis=0).astype(np.float64)
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(points))
    if bounds is not None:
        box = o3d.geometry.AxisAlignedBoundingBox(np.array(bounds[0]), np.array(bounds[1]))
        cloud = cloud.crop(box)
    if voxel_size > 0:
        cloud = cloud.voxel_down_sample(voxel_size)
    out = np.asarray(cloud.points, dtype=np.float32)
    if frame_origin is not None:
        rotation = np.eye(3) if frame_rotation is None else frame_rotation
        out = ((out - frame_origin) @ rotation).astype(np.float32)
    return out
