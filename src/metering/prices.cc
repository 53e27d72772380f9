#include "metering/prices.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "base/json.h"

namespace lambent::metering {

namespace {

struct PriceField {
  const char* key;
  double PriceTable::*member;
};

constexpr PriceField kFields[] = {
    {"requests_per_million", &PriceTable::requests_per_million},
    {"duration_gb_second", &PriceTable::duration_gb_second},
    {"provisioned_concurrency_gb_second", &PriceTable::provisioned_concurrency_gb_second},
    {"provisioned_duration_gb_second", &PriceTable::provisioned_duration_gb_second},
};

}  // namespace

double GbSeconds(int64_t mb_ms) { return double(mb_ms) / 1024000.0; }

UsageCost Cost(const UsageFigures& figures, const PriceTable& prices) {
  UsageCost cost;
  cost.requests = double(figures.requests) * prices.requests_per_million / 1e6;
  cost.duration = GbSeconds(figures.on_demand_mb_ms) * prices.duration_gb_second;
  cost.provisioned_duration =
      GbSeconds(figures.provisioned_mb_ms) * prices.provisioned_duration_gb_second;
  cost.provisioned_concurrency =
      GbSeconds(figures.provisioned_concurrency_mb_ms) * prices.provisioned_concurrency_gb_second;
  cost.total =
      cost.requests + cost.duration + cost.provisioned_duration + cost.provisioned_concurrency;
  return cost;
}

Result<PriceTable> ParsePrices(std::string_view text) {
  if (JsonNestsDeeperThan(text, 8))
    return tl::unexpected(Error::Invalid("prices: nested too deeply"));
  auto document = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!document.is_object()) {
    return tl::unexpected(Error::Invalid("prices: not a JSON object"));
  }
  PriceTable prices;
  for (const auto& [key, value] : document.items()) {
    const PriceField* field = nullptr;
    for (const auto& candidate : kFields) {
      if (key == candidate.key) field = &candidate;
    }
    if (!field) {
      std::string known;
      for (const auto& candidate : kFields)
        known += fmt::format("{}{}", known.empty() ? "" : ", ", candidate.key);
      return tl::unexpected(Error::Invalid(
          fmt::format("prices: unknown key '{}' (known: {})", ValidUtf8(key), known)));
    }
    if (!value.is_number() || value.get<double>() < 0) {
      return tl::unexpected(Error::Invalid(fmt::format("prices: {} must be a number >= 0", key)));
    }
    prices.*(field->member) = value.get<double>();
  }
  return prices;
}

Result<PriceTable> LoadPrices(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return PriceTable{};
    return tl::unexpected(Error::System("open", path.string(), errno));
  }
  std::stringstream text;
  text << in.rdbuf();
  auto prices = ParsePrices(text.str());
  if (!prices) {
    return tl::unexpected(
        Error::Invalid(fmt::format("{}: {}", path.string(), prices.error().message())));
  }
  return prices;
}

nlohmann::json PricesJson(const PriceTable& prices) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& field : kFields) j[field.key] = prices.*(field.member);
  j["currency"] = "USD";
  return j;
}

}  // namespace lambent::metering
