#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/error.h"

namespace lambent::logs {

// A CloudWatch Logs filter pattern, as FilterLogEvents and `aws logs tail --filter-pattern`
// take it:
//   ""                       every event
//   ERROR Exception          events with both terms (terms are case-sensitive substrings)
//   "exact phrase"           the phrase as written
//   ERROR -Exiting           ERROR and not Exiting
//   ?ERROR ?WARN             either one
//   %regex%                  events the regular expression finds something in
//   { $.level = "ERROR" }    JSON events whose field compares so: = != with strings (* is a
//                            wildcard), numbers; > < >= <= with numbers; IS TRUE|FALSE|NULL,
//                            NOT EXISTS; && binds before ||, parentheses group; paths like
//                            $.a.b[0].c
// Space-delimited patterns ("[ip, user, ...]") are refused as not supported.
class FilterPattern {
 public:
  static Result<FilterPattern> Parse(std::string_view pattern);
  FilterPattern();
  ~FilterPattern();
  FilterPattern(FilterPattern&&) noexcept;
  FilterPattern& operator=(FilterPattern&&) noexcept;

  bool Matches(std::string_view message) const;

  struct Node;

 private:
  std::unique_ptr<Node> root_;  // null: every event
};

}  // namespace lambent::logs
