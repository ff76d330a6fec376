// SPDX-License-Identifier: BSD-3-Clause
// Deterministic random numbers for the synthetic studio. Hand-written distributions (not
// std::*_distribution, whose output differs between standard libraries), so that one seed gives
// the same capture on every platform, and independent streams per (camera, frame, ...) so that
// results do not depend on the number of threads.
#pragma once

#include <cstdint>
#include <initializer_list>

namespace rigpose::synth {

// SplitMix64 finaliser: a 64-bit mixing function (Steele, Lea & Flood 2014).
uint64_t Mix64(uint64_t x);

// A stream seed derived from a base seed and a list of stream ids (camera, frame, purpose).
uint64_t StreamSeed(uint64_t seed, std::initializer_list<uint64_t> ids);

// xoshiro256** (Blackman & Vigna 2018), seeded through SplitMix64.
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t Next();
  double Uniform();                          // [0, 1), 53 random bits
  double Uniform(double lo, double hi);      // [lo, hi)
  int UniformInt(int lo, int hi_inclusive);  // uniform over [lo, hi_inclusive]
  double Normal();                           // standard normal (Box-Muller, cached pair)
  double Normal(double mean, double sigma) { return mean + sigma * Normal(); }

 private:
  uint64_t s_[4];
  bool has_spare_ = false;
  double spare_ = 0.0;
};

}  // namespace rigpose::synth
