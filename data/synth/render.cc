// SPDX-License-Identifier: BSD-3-Clause
#include "data/synth/render.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/error.h"
#include "data/synth/synth_random.h"

namespace rigpose::synth {
namespace {

using Eigen::Vector3d;
using Eigen::Vector3f;

cv::Vec3f Mix(const cv::Vec3f& a, const cv::Vec3f& b, float w) { return a * (1.f - w) + b * w; }

cv::Vec3f HsvColor(double h_deg, double s, double v) {
  cv::Mat3f hsv(
      1, 1, cv::Vec3f(static_cast<float>(h_deg), static_cast<float>(s), static_cast<float>(v)));
  cv::Mat3f bgr;
  cv::cvtColor(hsv, bgr, cv::COLOR_HSV2BGR);
  return bgr(0, 0);
}

// Smooth value noise in [0, 1] on an integer lattice hashed from the seed.
double LatticeValue(uint64_t seed, int64_t x, int64_t y) {
  const uint64_t h = Mix64(seed ^ Mix64(static_cast<uint64_t>(x) * 0x9E3779B97F4A7C15ull ^
                                        static_cast<uint64_t>(y) * 0xC2B2AE3D27D4EB4Full));
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

double ValueNoise(uint64_t seed, double x, double y) {
  const double fx = std::floor(x);
  const double fy = std::floor(y);
  const int64_t ix = static_cast<int64_t>(fx);
  const int64_t iy = static_cast<int64_t>(fy);
  const double tx = x - fx;
  const double ty = y - fy;
  const double sx = tx * tx * (3 - 2 * tx);
  const double sy = ty * ty * (3 - 2 * ty);
  const double a = LatticeValue(seed, ix, iy);
  const double b = LatticeValue(seed, ix + 1, iy);
  const double c = LatticeValue(seed, ix, iy + 1);
  const double d = LatticeValue(seed, ix + 1, iy + 1);
  return (a + (b - a) * sx) + ((c + (d - c) * sx) - (a + (b - a) * sx)) * sy;
}

double Fbm(uint64_t seed, double x, double y) {
  return 0.6 * ValueNoise(seed, x, y) + 0.3 * ValueNoise(seed + 1, 2.1 * x, 2.1 * y) +
         0.1 * ValueNoise(seed + 2, 4.3 * x, 4.3 * y);
}

cv::Vec3b ToByte(const cv::Vec3f& c) {
  return cv::Vec3b(cv::saturate_cast<uchar>(c[0] * 255.f),
                   cv::saturate_cast<uchar>(c[1] * 255.f),
                   cv::saturate_cast<uchar>(c[2] * 255.f));
}

// Pixel bounding box of a set of camera-frame points dilated by `pad_px`; nullopt when none is
// in front of the camera. A point behind the camera makes the box the whole image.
std::optional<cv::Rect> PixelBox(const Camera& camera,
                                 const std::vector<Vector3d>& cam_points,
                                 double radius_m) {
  double x0 = 1e30, y0 = 1e30, x1 = -1e30, y1 = -1e30;
  bool any_front = false;
  bool any_behind = false;
  double pad = 0;
  for (const Vector3d& p : cam_points) {
    if (p.z() < radius_m + 0.02) {
      any_behind = true;
      continue;
    }
    const auto img = camera.ImgFromCam(p);
    if (!img) {
      any_behind = true;
      continue;
    }
    any_front = true;
    x0 = std::min(x0, img->x());
    y0 = std::min(y0, img->y());
    x1 = std::max(x1, img->x());
    y1 = std::max(y1, img->y());
    pad = std::max(pad, radius_m * std::max(camera.fx(), camera.fy()) / (p.z() - radius_m));
  }
  if (!any_front && !any_behind) return std::nullopt;
  if (any_behind) {
    if (!any_front) {
      // Entirely behind (or at) the image plane: draw nothing unless it reaches around the camera.
      bool near = false;
      for (const Vector3d& p : cam_points) near = near || p.norm() < radius_m + 0.5;
      if (!near) return std::nullopt;
    }
    return cv::Rect(0, 0, camera.width, camera.height);
  }
  // Distortion bends edges between the samples: pad by a fifth of the size and 3 px.
  pad = pad * 1.25 + 3.0 + 0.1 * std::max(x1 - x0, y1 - y0);
  const int ix0 = std::max(0, static_cast<int>(std::floor(x0 - pad)));
  const int iy0 = std::max(0, static_cast<int>(std::floor(y0 - pad)));
  const int ix1 = std::min(camera.width - 1, static_cast<int>(std::ceil(x1 + pad)));
  const int iy1 = std::min(camera.height - 1, static_cast<int>(std::ceil(y1 + pad)));
  if (ix1 < ix0 || iy1 < iy0) return std::nullopt;
  return cv::Rect(ix0, iy0, ix1 - ix0 + 1, iy1 - iy0 + 1);
}

double SegmentDistance(const Vector3d& p, const Vector3d& a, const Vector3d& b) {
  const Vector3d ab = b - a;
  const double len2 = ab.squaredNorm();
  const double t = len2 > 0 ? std::clamp((p - a).dot(ab) / len2, 0.0, 1.0) : 0.0;
  return (p - (a + t * ab)).norm();
}

}  // namespace

// ---- rays ---------------------------------------------------------------------------------------

CameraRays::CameraRays(const Camera& camera, int step)
    : width_(camera.width), height_(camera.height), step_(step) {
  RIGPOSE_CHECK(step >= 1 && width_ > 0 && height_ > 0, "bad ray grid");
  grid_w_ = (width_ + step - 1) / step + 2;
  grid_h_ = (height_ + step - 1) / step + 2;
  grid_.resize(size_t(grid_w_) * grid_h_);
  for (int gy = 0; gy < grid_h_; ++gy) {
    for (int gx = 0; gx < grid_w_; ++gx) {
      const Eigen::Vector2d img(gx * step - 0.5, gy * step - 0.5);
      const auto ray = camera.CamRayFromImg(img);
      grid_[size_t(gy) * grid_w_ + gx] = ray ? *ray : Vector3d::Zero();
    }
  }
  pixels_.resize(size_t(width_) * height_);
  for (int v = 0; v < height_; ++v) {
    for (int u = 0; u < width_; ++u) pixels_[size_t(v) * width_ + u] = At(u, v).cast<float>();
  }
}

Eigen::Vector3d CameraRays::At(double u, double v) const {
  const double gx = std::clamp((u + 0.5) / step_, 0.0, grid_w_ - 1.001);
  const double gy = std::clamp((v + 0.5) / step_, 0.0, grid_h_ - 1.001);
  const int x0 = static_cast<int>(gx);
  const int y0 = static_cast<int>(gy);
  const double tx = gx - x0;
  const double ty = gy - y0;
  const Vector3d& a = grid_[size_t(y0) * grid_w_ + x0];
  const Vector3d& b = grid_[size_t(y0) * grid_w_ + x0 + 1];
  const Vector3d& c = grid_[size_t(y0 + 1) * grid_w_ + x0];
  const Vector3d& d = grid_[size_t(y0 + 1) * grid_w_ + x0 + 1];
  if (a.isZero() || b.isZero() || c.isZero() || d.isZero()) return Vector3d::Zero();
  const Vector3d r = (1 - ty) * ((1 - tx) * a + tx * b) + ty * ((1 - tx) * c + tx * d);
  return r.normalized();
}

// ---- capsules ----------------------------------------------------------------------------------

std::optional<double> IntersectCapsule(const Vector3d& o, const Vector3d& d, const Capsule& c) {
  // The first hit of a union is the nearest first hit of its parts: the lateral surface of the
  // cylinder (between the end planes) and the two end spheres.
  std::optional<double> best;
  const double r2 = c.radius * c.radius;
  const Vector3d ba = c.b - c.a;
  const Vector3d oa = o - c.a;
  const double baba = ba.dot(ba);
  if (baba > 1e-14) {
    const double bard = ba.dot(d);
    const double baoa = ba.dot(oa);
    const double a = baba - bard * bard;
    if (a > 1e-14) {
      const double b = baba * d.dot(oa) - baoa * bard;
      const double cc = baba * oa.dot(oa) - baoa * baoa - r2 * baba;
      const double h = b * b - a * cc;
      if (h >= 0.0) {
        const double t = (-b - std::sqrt(h)) / a;
        const double y = baoa + t * bard;
        if (t > 0.0 && y > 0.0 && y < baba) best = t;
      }
    }
  }
  for (const Vector3d* center : {&c.a, &c.b}) {
    const Vector3d oc = o - *center;
    const double bb = d.dot(oc);
    const double h = bb * bb - (oc.dot(oc) - r2);
    if (h > 0.0) {
      const double t = -bb - std::sqrt(h);
      if (t > 0.0 && (!best || t < *best)) best = t;
    }
    if (baba <= 1e-14) break;
  }
  return best;
}

Appearance RandomAppearance(Rng& rng) {
  Appearance a;
  static const cv::Vec3f kSkins[] = {{0.74f, 0.83f, 0.96f},
                                     {0.58f, 0.71f, 0.87f},
                                     {0.45f, 0.58f, 0.76f},
                                     {0.30f, 0.42f, 0.60f},
                                     {0.18f, 0.27f, 0.40f}};
  a.skin = kSkins[rng.UniformInt(0, 4)];
  a.hair = HsvColor(rng.Uniform(10, 40), rng.Uniform(0.3, 0.8), rng.Uniform(0.05, 0.5));
  a.shirt = HsvColor(rng.Uniform(0, 360), rng.Uniform(0.3, 0.9), rng.Uniform(0.35, 0.95));
  a.pants = HsvColor(rng.Uniform(180, 260), rng.Uniform(0.1, 0.7), rng.Uniform(0.15, 0.55));
  a.shoes = HsvColor(rng.Uniform(0, 360), rng.Uniform(0.0, 0.3), rng.Uniform(0.1, 0.9));
  a.accent = HsvColor(rng.Uniform(0, 360), 0.9, 0.95);
  a.long_sleeves = rng.Uniform() < 0.6;
  return a;
}

std::vector<Capsule> BodyCapsules(const BodyShape& shape,
                                  const Appearance& look,
                                  const std::vector<Vector3d>& j,
                                  int subject) {
  RIGPOSE_CHECK(j.size() == 26, "BodyCapsules needs HALPE-26 joints, got " << j.size());
  const double h = shape.height_m;
  std::vector<Capsule> caps;
  const auto add = [&](const Vector3d& a, const Vector3d& b, double r, const cv::Vec3f& color) {
    Capsule c;
    c.a = a;
    c.b = b;
    c.radius = r;
    c.color = color;
    c.subject = subject;
    caps.push_back(c);
  };
  // HALPE-26 indices.
  const Vector3d &nose = j[0], &leye = j[1], &reye = j[2], &lear = j[3], &rear = j[4];
  const Vector3d &lsho = j[5], &rsho = j[6], &lelb = j[7], &relb = j[8], &lwri = j[9],
                 &rwri = j[10];
  const Vector3d &lhip = j[11], &rhip = j[12], &lkne = j[13], &rkne = j[14], &lank = j[15],
                 &rank = j[16];
  const Vector3d &neck = j[18], &midhip = j[19];
  const Vector3d mid_ears = 0.5 * (lear + rear);
  const double head_r = 0.5 * (lear - rear).norm() / 1.01;
  const Vector3d fwd = (nose - mid_ears).normalized();
  const Vector3d head_center = mid_ears + 0.05 * head_r * fwd;
  const Vector3d up_trunk = (neck - midhip).normalized();
  const Vector3d head_up = (j[17] - head_center).normalized();

  const cv::Vec3f left_shirt = Mix(look.shirt, look.accent, 0.55f);
  const cv::Vec3f left_pants = Mix(look.pants, look.accent, 0.45f);
  // Head, hair, face features (slightly darker than skin), neck.
  add(head_center, head_center, 0.98 * head_r, look.skin);
  add(head_center + head_r * (0.12 * head_up - 0.12 * fwd),
      head_center + head_r * (0.12 * head_up - 0.12 * fwd),
      0.99 * head_r,
      look.hair);
  add(nose, nose, 0.009 * h, look.skin * 0.85f);
  add(leye, leye, 0.0055 * h, cv::Vec3f(0.12f, 0.1f, 0.1f));
  add(reye, reye, 0.0055 * h, cv::Vec3f(0.12f, 0.1f, 0.1f));
  add(lear, lear, 0.011 * h, look.skin * 0.9f);
  add(rear, rear, 0.011 * h, look.skin * 0.9f);
  add(neck, head_center - 0.3 * head_r * head_up, 0.033 * h, look.skin);
  // Torso: chest bar, spine, waist, pelvis.
  const Vector3d chest_l = lsho + 0.45 * (neck - lsho) - 0.035 * h * up_trunk;
  const Vector3d chest_r = rsho + 0.45 * (neck - rsho) - 0.035 * h * up_trunk;
  add(chest_l, chest_r, 0.062 * h, look.shirt);
  add(neck - 0.05 * h * up_trunk, midhip + 0.07 * h * up_trunk, 0.075 * h, look.shirt);
  add(lhip + 0.3 * (midhip - lhip) + 0.06 * h * up_trunk,
      rhip + 0.3 * (midhip - rhip) + 0.06 * h * up_trunk,
      0.064 * h,
      look.shirt);
  add(lhip, rhip, 0.06 * h, look.pants);
  // Arms.
  for (int side = 0; side < 2; ++side) {
    const Vector3d& sho = side == 0 ? lsho : rsho;
    const Vector3d& elb = side == 0 ? lelb : relb;
    const Vector3d& wri = side == 0 ? lwri : rwri;
    const cv::Vec3f sleeve = side == 0 ? left_shirt : look.shirt;
    add(sho, elb, 0.03 * h, sleeve);
    add(elb, wri, 0.024 * h, look.long_sleeves ? sleeve : look.skin);
    const Vector3d hand_dir = (wri - elb).normalized();
    add(wri, wri + 0.55 * shape.hand_m * hand_dir, 0.021 * h, look.skin);
  }
  // Legs and feet.
  for (int side = 0; side < 2; ++side) {
    const Vector3d& hip = side == 0 ? lhip : rhip;
    const Vector3d& kne = side == 0 ? lkne : rkne;
    const Vector3d& ank = side == 0 ? lank : rank;
    const Vector3d& heel = j[side == 0 ? 24 : 25];
    const Vector3d toes = 0.5 * (j[side == 0 ? 20 : 21] + j[side == 0 ? 22 : 23]);
    const cv::Vec3f trousers = side == 0 ? left_pants : look.pants;
    add(hip, kne, 0.042 * h, trousers);
    add(kne, ank, 0.031 * h, trousers);
    // The sole lies on the heel-toe line; lift the capsule's axis by its radius.
    const Vector3d foot_dir = (toes - heel).normalized();
    Vector3d foot_up = (ank - heel) - (ank - heel).dot(foot_dir) * foot_dir;
    foot_up = foot_up.norm() > 1e-9 ? foot_up.normalized() : Vector3d::UnitZ();
    const double r = 0.02 * h;
    add(heel + r * foot_up + 0.5 * r * foot_dir,
        toes + r * foot_up - 0.5 * r * foot_dir,
        r,
        look.shoes);
    add(ank, heel + r * foot_up + 0.5 * r * foot_dir, 0.022 * h, look.shoes);
  }
  return caps;
}

int JointVisibility(const Camera& camera,
                    const std::vector<Capsule>& capsules,
                    const Vector3d& joint_in_world) {
  const auto img = camera.ImgFromWorld(joint_in_world);
  if (!img || !camera.IsInImage(*img)) return 0;
  const Vector3d center = camera.CenterInWorld();
  const Vector3d to_joint = joint_in_world - center;
  const double distance = to_joint.norm();
  const Vector3d d = to_joint / distance;
  double own_radius = 0.0;
  std::vector<const Capsule*> others;
  for (const Capsule& c : capsules) {
    if (SegmentDistance(joint_in_world, c.a, c.b) < c.radius) {
      own_radius = std::max(own_radius, c.radius);
    } else {
      others.push_back(&c);
    }
  }
  const double margin = own_radius > 0 ? 0.5 * own_radius : 0.015;
  for (const Capsule* c : others) {
    const auto t = IntersectCapsule(center, d, *c);
    if (t && *t < distance - margin) return 1;
  }
  return 2;
}

// ---- room --------------------------------------------------------------------------------------

Room RandomRoom(uint64_t seed, double half_size_m) {
  Rng rng(StreamSeed(seed, {0x2007}));
  Room room;
  room.seed = seed;
  room.half_size_m = half_size_m;
  room.height_m = rng.Uniform(3.0, 4.0);
  room.floor_style = rng.UniformInt(0, 2);
  room.floor_color = HsvColor(rng.Uniform(15, 45), rng.Uniform(0.15, 0.6), rng.Uniform(0.35, 0.75));
  const double wall_hue = rng.Uniform(0, 360);
  for (int w = 0; w < 4; ++w) {
    room.wall_color[w] = HsvColor(std::fmod(wall_hue + rng.Uniform(-25, 25) + 360, 360),
                                  rng.Uniform(0.05, 0.35),
                                  rng.Uniform(0.55, 0.9));
  }
  room.ceiling_color = cv::Vec3f(0.85f, 0.85f, 0.85f);
  const int num_posters = rng.UniformInt(6, 14);
  for (int i = 0; i < num_posters; ++i) {
    Room::Poster p;
    p.wall = rng.UniformInt(0, 3);
    const double width = rng.Uniform(0.4, 2.0);
    p.u0 = rng.Uniform(-half_size_m + 0.2, half_size_m - 0.2 - width);
    p.u1 = p.u0 + width;
    p.z0 = rng.Uniform(0.0, 1.6);
    p.z1 = p.z0 + rng.Uniform(0.4, std::min(2.2, room.height_m - p.z0 - 0.1));
    p.color = HsvColor(rng.Uniform(0, 360), rng.Uniform(0.2, 0.9), rng.Uniform(0.2, 0.95));
    p.stripes = rng.UniformInt(0, 6);
    room.posters.push_back(p);
  }
  return room;
}

cv::Mat RenderRoom(const Camera& camera,
                   const CameraRays& rays,
                   const Room& room,
                   const Lighting& lighting) {
  cv::Mat image(camera.height, camera.width, CV_8UC3);
  const Eigen::Matrix3d world_from_cam = camera.cam_from_world.RotationMatrix().transpose();
  const Vector3d o = camera.CenterInWorld();
  const double L = room.half_size_m;
  const double H = room.height_m;
  const auto tile_color = [&](double x, double y) -> cv::Vec3f {
    const uint64_t s = room.seed;
    cv::Vec3f c = room.floor_color;
    double shade = 1.0;
    if (room.floor_style == 0) {  // 0.6 m tiles with grout
      const double tile = 0.6;
      const double fx = x / tile - std::floor(x / tile);
      const double fy = y / tile - std::floor(y / tile);
      const double tile_var =
          LatticeValue(s + 11, int64_t(std::floor(x / tile)), int64_t(std::floor(y / tile)));
      shade *= 0.85 + 0.3 * tile_var;
      if (fx < 0.015 || fy < 0.015) shade *= 0.55;
    } else if (room.floor_style == 1) {  // planks, 0.18 m wide, staggered
      const double w = 0.18;
      const int64_t row = int64_t(std::floor(y / w));
      const double shifted = x + 0.37 * static_cast<double>(row % 5);
      const int64_t plank = int64_t(std::floor(shifted / 1.2));
      shade *= 0.8 + 0.35 * LatticeValue(s + 13, plank, row);
      shade *= 0.85 + 0.3 * ValueNoise(s + 17, x * 25.0, y * 1.5);  // grain
      if (y / w - std::floor(y / w) < 0.03 || shifted / 1.2 - std::floor(shifted / 1.2) < 0.004)
        shade *= 0.6;
    }
    shade *= 0.8 + 0.4 * Fbm(s + 19, x * 1.3, y * 1.3);
    // Studio lights: brighter towards the middle of the room.
    shade *= 0.75 + 0.35 * std::exp(-(x * x + y * y) / 10.0);
    return c * static_cast<float>(shade);
  };
  for (int v = 0; v < camera.height; ++v) {
    cv::Vec3b* row = image.ptr<cv::Vec3b>(v);
    for (int u = 0; u < camera.width; ++u) {
      const Vector3f& ray_cam = rays.Pixel(u, v);
      if (ray_cam.isZero()) {
        row[u] = cv::Vec3b(0, 0, 0);
        continue;
      }
      const Vector3d d = world_from_cam * ray_cam.cast<double>();
      double t_best = 1e30;
      int surface = -1;  // 0 floor, 1 ceiling, 2..5 walls
      const auto consider = [&](double t, int s) {
        if (t > 1e-6 && t < t_best) {
          t_best = t;
          surface = s;
        }
      };
      if (d.z() < 0) consider(-o.z() / d.z(), 0);
      if (d.z() > 0) consider((H - o.z()) / d.z(), 1);
      if (d.x() > 0) consider((L - o.x()) / d.x(), 2);
      if (d.x() < 0) consider((-L - o.x()) / d.x(), 3);
      if (d.y() > 0) consider((L - o.y()) / d.y(), 4);
      if (d.y() < 0) consider((-L - o.y()) / d.y(), 5);
      const Vector3d p = o + t_best * d;
      cv::Vec3f c;
      double light = lighting.ambient + lighting.sun * 0.9;
      if (surface == 0) {
        c = tile_color(p.x(), p.y());
      } else if (surface == 1) {
        c = room.ceiling_color * static_cast<float>(0.7 + 0.2 * Fbm(room.seed + 23, p.x(), p.y()));
        light = lighting.ambient + 0.3;
      } else {
        const int wall = surface - 2;
        const double along = (wall < 2) ? p.y() : p.x();
        c = room.wall_color[wall] *
            static_cast<float>(0.85 + 0.25 * Fbm(room.seed + 29 + wall, along * 2.0, p.z() * 2.0));
        for (const Room::Poster& poster : room.posters) {
          if (poster.wall == wall && along >= poster.u0 && along <= poster.u1 &&
              p.z() >= poster.z0 && p.z() <= poster.z1) {
            c = poster.color;
            if (poster.stripes > 0) {
              const double s = (p.z() - poster.z0) / (poster.z1 - poster.z0) * poster.stripes;
              if (s - std::floor(s) < 0.35) c = c * 0.45f + cv::Vec3f(0.5f, 0.5f, 0.5f) * 0.55f;
            }
          }
        }
        if (p.z() < 0.12) c = c * 0.6f;  // skirting board
        light = lighting.ambient + lighting.sun * 0.55;
      }
      row[u] = ToByte(c * static_cast<float>(light * lighting.exposure));
    }
  }
  return image;
}

void RenderCapsules(const Camera& camera,
                    const CameraRays& rays,
                    const std::vector<Capsule>& capsules,
                    const Lighting& lighting,
                    cv::Mat* image,
                    cv::Mat* depth) {
  RIGPOSE_CHECK(
      image->type() == CV_8UC3 && image->cols == camera.width && image->rows == camera.height,
      "image does not match camera " << camera.name);
  depth->create(camera.height, camera.width, CV_32F);
  depth->setTo(std::numeric_limits<float>::infinity());
  const Eigen::Matrix3d R = camera.cam_from_world.RotationMatrix();
  const Vector3d sun_cam = R * lighting.sun_in_world;
  const Vector3d origin = Vector3d::Zero();
  for (const Capsule& world_capsule : capsules) {
    Capsule c = world_capsule;
    c.a = camera.cam_from_world * world_capsule.a;
    c.b = camera.cam_from_world * world_capsule.b;
    std::vector<Vector3d> samples;
    for (int i = 0; i <= 4; ++i) samples.push_back(c.a + (c.b - c.a) * (i / 4.0));
    const auto box = PixelBox(camera, samples, c.radius);
    if (!box) continue;
    const Vector3d ba = c.b - c.a;
    const double baba = ba.squaredNorm();
    for (int v = box->y; v < box->y + box->height; ++v) {
      cv::Vec3b* row = image->ptr<cv::Vec3b>(v);
      float* zrow = depth->ptr<float>(v);
      for (int u = box->x; u < box->x + box->width; ++u) {
        const Vector3f& rf = rays.Pixel(u, v);
        if (rf.isZero()) continue;
        const Vector3d d = rf.cast<double>();
        const auto t = IntersectCapsule(origin, d, c);
        if (!t || *t >= zrow[u]) continue;
        zrow[u] = static_cast<float>(*t);
        const Vector3d p = *t * d;
        const double s = baba > 0 ? std::clamp((p - c.a).dot(ba) / baba, 0.0, 1.0) : 0.0;
        const Vector3d n = (p - (c.a + s * ba)).normalized();
        const double shade = lighting.ambient + lighting.sun * std::max(0.0, n.dot(sun_cam)) +
                             lighting.headlight * std::max(0.0, -n.dot(d));
        row[u] = ToByte(c.color * static_cast<float>(shade * lighting.exposure));
      }
    }
  }
}

bool RenderBoardPlane(const Camera& camera,
                      const CameraRays& rays,
                      const Rigid3d& world_from_board,
                      const cv::Mat& texture,
                      double pixels_per_m,
                      double margin_m,
                      const Lighting& lighting,
                      cv::Mat* image) {
  RIGPOSE_CHECK(texture.type() == CV_8UC1 && !texture.empty(), "board texture must be 8-bit grey");
  const Rigid3d cam_from_board = camera.cam_from_world * world_from_board;
  const Eigen::Matrix3d R = cam_from_board.RotationMatrix();
  const Vector3d n_cam = R.col(2);  // board +z (into the board)
  const Vector3d origin_cam = cam_from_board.translation;
  const double size_x = texture.cols / pixels_per_m;
  const double size_y = texture.rows / pixels_per_m;
  std::vector<Vector3d> outline;
  for (int i = 0; i <= 4; ++i) {
    for (int k = 0; k <= 4; ++k) {
      outline.push_back(cam_from_board *
                        Vector3d(-margin_m + size_x * i / 4.0, -margin_m + size_y * k / 4.0, 0));
    }
  }
  const auto box = PixelBox(camera, outline, 0.0);
  if (!box) return false;
  // The camera sees the printed face when it lies on the board's -z side.
  const bool front = (cam_from_board.Inverse().translation).z() < 0.0;
  const Vector3d sun_cam = camera.cam_from_world.RotationMatrix() * lighting.sun_in_world;
  const double shade = lighting.ambient + lighting.sun * std::abs(n_cam.dot(sun_cam)) +
                       lighting.headlight * std::abs(n_cam.dot(origin_cam.normalized()));
  const float gain = static_cast<float>(shade * lighting.exposure);
  const double denom_eps = 1e-9;
  const double plane_d = n_cam.dot(origin_cam);
  const Vector3d x_axis = R.col(0);
  const Vector3d y_axis = R.col(1);
  static const double kSub[3] = {-1.0 / 3.0, 0.0, 1.0 / 3.0};
  bool drew = false;
  for (int v = box->y; v < box->y + box->height; ++v) {
    cv::Vec3b* row = image->ptr<cv::Vec3b>(v);
    for (int u = box->x; u < box->x + box->width; ++u) {
      float sum = 0.f;
      int hits = 0;
      for (double dv : kSub) {
        for (double du : kSub) {
          const Vector3d d = rays.At(u + du, v + dv);
          const double denom = n_cam.dot(d);
          if (std::abs(denom) < denom_eps || d.isZero()) continue;
          const double t = plane_d / denom;
          if (t <= 0) continue;
          const Vector3d rel = t * d - origin_cam;
          const double bx = rel.dot(x_axis);
          const double by = rel.dot(y_axis);
          const double tu = (bx + margin_m) * pixels_per_m - 0.5;
          const double tv = (by + margin_m) * pixels_per_m - 0.5;
          if (tu < -0.5 || tv < -0.5 || tu > texture.cols - 0.5 || tv > texture.rows - 0.5)
            continue;
          float value = 128.f;
          if (front) {
            const int x0 = std::clamp(static_cast<int>(std::floor(tu)), 0, texture.cols - 1);
            const int y0 = std::clamp(static_cast<int>(std::floor(tv)), 0, texture.rows - 1);
            const int x1 = std::min(x0 + 1, texture.cols - 1);
            const int y1 = std::min(y0 + 1, texture.rows - 1);
            const float fx = static_cast<float>(std::clamp(tu - x0, 0.0, 1.0));
            const float fy = static_cast<float>(std::clamp(tv - y0, 0.0, 1.0));
            const float a = texture.at<uchar>(y0, x0), b = texture.at<uchar>(y0, x1);
            const float c = texture.at<uchar>(y1, x0), e = texture.at<uchar>(y1, x1);
            value = (1 - fy) * ((1 - fx) * a + fx * b) + fy * ((1 - fx) * c + fx * e);
          }
          sum += value;
          ++hits;
        }
      }
      if (hits == 0) continue;
      drew = true;
      // Paper is slightly off-white and black ink reflects a little.
      const float paper = (0.08f + 0.84f * (sum / hits) / 255.f) * gain;
      const float w = hits / 9.f;
      const cv::Vec3f board_color(paper, paper, paper * 0.98f);
      const cv::Vec3b& bg = row[u];
      const cv::Vec3f mixed = board_color * w + cv::Vec3f(bg[0], bg[1], bg[2]) * ((1 - w) / 255.f);
      row[u] = ToByte(mixed);
    }
  }
  return drew;
}

// ---- sensor
// --------------------------------------------------------------------------------------

void ApplySensor(const SensorOptions& options, uint64_t seed, cv::Mat* image) {
  if (options.blur_sigma_px > 0.0) {
    cv::GaussianBlur(*image, *image, cv::Size(0, 0), options.blur_sigma_px);
  }
  if (options.noise_sigma > 0.0) {
    // A table of Gaussian samples read from a random offset per row: independent enough for
    // sensor noise and ~10x faster than drawing every sample.
    Rng rng(StreamSeed(seed, {0x5e55}));
    constexpr int kTable = 1 << 16;
    static thread_local std::vector<int16_t> table;
    static thread_local double table_sigma = -1;
    static thread_local uint64_t table_seed = 0;
    if (table_sigma != options.noise_sigma || table_seed == 0) {
      Rng table_rng(0x7ab1e ^ static_cast<uint64_t>(options.noise_sigma * 1000));
      table.resize(kTable);
      for (int16_t& x : table) {
        x = static_cast<int16_t>(std::lround(table_rng.Normal(0.0, options.noise_sigma)));
      }
      table_sigma = options.noise_sigma;
      table_seed = 1;
    }
    const int row_len = image->cols * image->channels();
    for (int v = 0; v < image->rows; ++v) {
      uchar* row = image->ptr<uchar>(v);
      size_t k = static_cast<size_t>(rng.Next() % kTable);
      for (int i = 0; i < row_len; ++i) {
        row[i] = cv::saturate_cast<uchar>(row[i] + table[k]);
        if (++k == kTable) k = 0;
      }
    }
  }
  if (options.jpeg_quality > 0) {
    std::vector<uchar> buffer;
    cv::imencode(".jpg", *image, buffer, {cv::IMWRITE_JPEG_QUALITY, options.jpeg_quality});
    *image = cv::imdecode(buffer, cv::IMREAD_COLOR);
  }
}

}  // namespace rigpose::synth
