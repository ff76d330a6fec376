// SPDX-License-Identifier: BSD-3-Clause
#include "core/units.h"

#include <algorithm>
#include <cctype>

namespace rigpose {

double MetresPerUnit(LengthUnit unit) {
  switch (unit) {
    case LengthUnit::kMetre:
      return 1.0;
    case LengthUnit::kCentimetre:
      return 0.01;
    case LengthUnit::kMillimetre:
      return 0.001;
  }
  return 1.0;
}

std::string UnitName(LengthUnit unit) {
  switch (unit) {
    case LengthUnit::kMetre:
      return "m";
    case LengthUnit::kCentimetre:
      return "cm";
    case LengthUnit::kMillimetre:
      return "mm";
  }
  return "m";
}

std::optional<LengthUnit> ParseLengthUnit(const std::string& text) {
  std::string t = text;
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  if (t == "m" || t == "metre" || t == "metres" || t == "meter" || t == "meters") {
    return LengthUnit::kMetre;
  }
  if (t == "cm" || t == "centimetre" || t == "centimetres" || t == "centimeter" ||
      t == "centimeters") {
    return LengthUnit::kCentimetre;
  }
  if (t == "mm" || t == "millimetre" || t == "millimetres" || t == "millimeter" ||
      t == "millimeters") {
    return LengthUnit::kMillimetre;
  }
  return std::nullopt;
}

}  // namespace rigpose
