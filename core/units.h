// SPDX-License-Identifier: BSD-3-Clause
// Length units. rigpose works in metres; readers record the unit a file was written in.
#pragma once

#include <optional>
#include <string>

namespace rigpose {

enum class LengthUnit { kMetre, kCentimetre, kMillimetre };

// Metres per one unit (kMillimetre -> 0.001).
double MetresPerUnit(LengthUnit unit);
// "m", "cm", "mm".
std::string UnitName(LengthUnit unit);
// Accepts m/metre/meter(s), cm, mm (case-insensitive); nullopt otherwise.
std::optional<LengthUnit> ParseLengthUnit(const std::string& text);

}  // namespace rigpose
