// numpy's ziggurat tables for the standard normal (256 layers, float64).
//
// Reference: numpy/random/src/distributions/ziggurat_constants.h (ki_double, wi_double,
// fi_double) and ziggurat_nor_r / ziggurat_nor_inv_r in numpy/random/src/distributions/ziggurat.h.
// These are data: the values are numpy's, so that random_standard_normal is bit-identical.
#pragma once

#include <cstdint>

namespace sdfast::numpy_ziggurat {

// Layer x-coordinates scaled for a 52-bit integer: accept when rabs < ki[idx].
extern const uint64_t kKi[256];
// Width of each layer divided by 2^52: x = rabs * wi[idx].
extern const double kWi[256];
// exp(-x_i^2 / 2) at each layer edge.
extern const double kFi[256];

// Start of the tail and its reciprocal.
inline constexpr double kNorR = 3.6541528853610087963519472518;
inline constexpr double kNorInvR = 0.27366123732975827203338247596;

}  // namespace sdfast::numpy_ziggurat
