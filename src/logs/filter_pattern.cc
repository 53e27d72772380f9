#include "logs/filter_pattern.h"

#include <cctype>
#include <regex>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace lambent::logs {

using nlohmann::json;

namespace {

Error Invalid(std::string_view why) { return Error::Invalid("Invalid filter pattern: " + std::string(why)); }

// Terms of an unstructured pattern: all of `all`, none of `none`, and one of `any` if it has any.
struct Terms {
  std::vector<std::string> all, any, none;
  std::vector<std::regex> regexes;
};

// A JSON selector's comparison: `$.path op value`.
struct Comparison {
  struct Step {
    std::string key;  // empty: `index` into an array
    size_t index = 0;
  };
  std::vector<Step> path;
  std::string op;  // = != > < >= <= exists null true false
  bool number = false;
  double value_number = 0;
  std::string value_text;
};

bool Wildcard(std::string_view pattern, std::string_view text) {
  // `*` matches any run of characters, as CloudWatch's string comparisons allow.
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

const json* Select(const json& doc, const std::vector<Comparison::Step>& path) {
  const json* at = &doc;
  for (const auto& step : path) {
    if (step.key.empty()) {
      if (!at->is_array() || step.index >= at->size()) return nullptr;
      at = &(*at)[step.index];
    } else {
      if (!at->is_object()) return nullptr;
      auto it = at->find(step.key);
      if (it == at->end()) return nullptr;
      at = &*it;
    }
  }
  return at;
}

bool Compare(const Comparison& c, const json& doc) {
  const json* value = Select(doc, c.path);
  if (c.op == "exists") return value == nullptr;  // NOT EXISTS
  if (!value) return false;
  if (c.op == "null") return value->is_null();
  if (c.op == "true" || c.op == "false") return value->is_boolean() && value->get<bool>() == (c.op == "true");
  if (c.number) {
    if (!value->is_number()) return false;
    double v = value->get<double>();
    if (c.op == "=") return v == c.value_number;
    if (c.op == "!=") return v != c.value_number;
    if (c.op == ">") return v > c.value_number;
    if (c.op == "<") return v < c.value_number;
    if (c.op == ">=") return v >= c.value_number;
    if (c.op == "<=") return v <= c.value_number;
    return false;
  }
  std::string text;
  if (value->is_string()) {
    text = value->get<std::string>();
  } else if (value->is_primitive()) {
    text = value->dump();
  } else {
    return false;
  }
  bool equal = Wildcard(c.value_text, text);
  return c.op == "=" ? equal : c.op == "!=" ? !equal : false;
}

}  // namespace

struct FilterPattern::Node {
  enum class Kind { kTerms, kCompare, kAnd, kOr } kind = Kind::kTerms;
  Terms terms;
  Comparison comparison;
  std::unique_ptr<Node> left, right;

  bool Eval(const json& doc) const {
    switch (kind) {
      case Kind::kCompare: return Compare(comparison, doc);
      case Kind::kAnd: return left->Eval(doc) && right->Eval(doc);
      case Kind::kOr: return left->Eval(doc) || right->Eval(doc);
      default: return false;
    }
  }
};

namespace {

using Node = FilterPattern::Node;

class JsonParser {
 public:
  explicit JsonParser(std::string_view text) : text_(text) {}

  Result<std::unique_ptr<Node>> Parse() {
    auto node = Or();
    if (!node) return node;
    Skip();
    if (pos_ != text_.size()) return tl::unexpected(Invalid("unexpected text at " + std::string(text_.substr(pos_))));
    return node;
  }

 private:
  void Skip() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool Eat(std::string_view token) {
    Skip();
    if (text_.substr(pos_).starts_with(token)) {
      pos_ += token.size();
      return true;
    }
    return false;
  }
  bool EatWord(std::string_view word) {
    Skip();
    auto rest = text_.substr(pos_);
    if (rest.size() < word.size()) return false;
    for (size_t i = 0; i < word.size(); ++i) {
      if (std::toupper(static_cast<unsigned char>(rest[i])) != word[i]) return false;
    }
    if (rest.size() > word.size() && (std::isalnum(static_cast<unsigned char>(rest[word.size()])) || rest[word.size()] == '_')) {
      return false;
    }
    pos_ += word.size();
    return true;
  }
  static std::unique_ptr<Node> Join(Node::Kind kind, std::unique_ptr<Node> left, std::unique_ptr<Node> right) {
    auto node = std::make_unique<Node>();
    node->kind = kind;
    node->left = std::move(left);
    node->right = std::move(right);
    return node;
  }
  Result<std::unique_ptr<Node>> Or() {
    auto left = And();
    if (!left) return left;
    while (Eat("||")) {
      auto right = And();
      if (!right) return right;
      left = Join(Node::Kind::kOr, std::move(*left), std::move(*right));
    }
    return left;
  }
  Result<std::unique_ptr<Node>> And() {
    auto left = Primary();
    if (!left) return left;
    while (Eat("&&")) {
      auto right = Primary();
      if (!right) return right;
      left = Join(Node::Kind::kAnd, std::move(*left), std::move(*right));
    }
    return left;
  }
  Result<std::unique_ptr<Node>> Primary() {
    if (Eat("(")) {
      auto inner = Or();
      if (!inner) return inner;
      if (!Eat(")")) return tl::unexpected(Invalid("missing )"));
      return inner;
    }
    auto node = std::make_unique<Node>();
    node->kind = Node::Kind::kCompare;
    Comparison& c = node->comparison;
    if (!Eat("$")) return tl::unexpected(Invalid("a JSON selector starts with $"));
    for (;;) {
      if (pos_ < text_.size() && text_[pos_] == '.') {
        size_t start = ++pos_;
        while (pos_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_' ||
                                       text_[pos_] == '-' || text_[pos_] == '@' || text_[pos_] == ':')) {
          ++pos_;
        }
        if (pos_ == start) return tl::unexpected(Invalid("empty field name"));
        c.path.push_back({std::string(text_.substr(start, pos_ - start)), 0});
      } else if (pos_ < text_.size() && text_[pos_] == '[') {
        size_t close = text_.find(']', pos_);
        if (close == std::string_view::npos) return tl::unexpected(Invalid("missing ]"));
        std::string index(text_.substr(pos_ + 1, close - pos_ - 1));
        if (index.empty() || index.find_first_not_of("0123456789") != std::string::npos) {
          return tl::unexpected(Invalid("array index " + index));
        }
        c.path.push_back({"", size_t(std::stoul(index))});
        pos_ = close + 1;
      } else {
        break;
      }
    }
    if (c.path.empty()) return tl::unexpected(Invalid("a selector names a field: $.name"));
    if (EatWord("NOT")) {
      if (!EatWord("EXISTS")) return tl::unexpected(Invalid("NOT EXISTS"));
      c.op = "exists";
      return node;
    }
    if (EatWord("IS")) {
      if (EatWord("NULL")) c.op = "null";
      else if (EatWord("TRUE")) c.op = "true";
      else if (EatWord("FALSE")) c.op = "false";
      else return tl::unexpected(Invalid("IS takes NULL, TRUE or FALSE"));
      return node;
    }
    for (std::string_view op : {"!=", ">=", "<=", "=", ">", "<"}) {
      if (Eat(op)) {
        c.op = op;
        break;
      }
    }
    if (c.op.empty()) return tl::unexpected(Invalid("a selector needs an operator"));
    Skip();
    if (pos_ < text_.size() && text_[pos_] == '"') {
      size_t close = text_.find('"', pos_ + 1);
      if (close == std::string_view::npos) return tl::unexpected(Invalid("unterminated string"));
      c.value_text = std::string(text_.substr(pos_ + 1, close - pos_ - 1));
      pos_ = close + 1;
    } else {
      size_t start = pos_;
      while (pos_ < text_.size() && !std::isspace(static_cast<unsigned char>(text_[pos_])) && text_[pos_] != ')' &&
             text_[pos_] != '&' && text_[pos_] != '|') {
        ++pos_;
      }
      c.value_text = std::string(text_.substr(start, pos_ - start));
      if (c.value_text.empty()) return tl::unexpected(Invalid("a comparison needs a value"));
      char* end = nullptr;
      double number = std::strtod(c.value_text.c_str(), &end);
      if (end && *end == '\0') {
        c.number = true;
        c.value_number = number;
      }
    }
    if (!c.number && c.op != "=" && c.op != "!=") {
      return tl::unexpected(Invalid(c.op + " compares numbers"));
    }
    return node;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

Result<Terms> ParseTerms(std::string_view text) {
  Terms terms;
  size_t pos = 0;
  while (pos < text.size()) {
    if (std::isspace(static_cast<unsigned char>(text[pos]))) {
      ++pos;
      continue;
    }
    char sign = 0;
    if (text[pos] == '-' || text[pos] == '?') sign = text[pos++];
    std::string term;
    if (pos < text.size() && text[pos] == '"') {
      size_t close = text.find('"', pos + 1);
      if (close == std::string_view::npos) return tl::unexpected(Invalid("unterminated quoted term"));
      term = std::string(text.substr(pos + 1, close - pos - 1));
      pos = close + 1;
    } else if (pos < text.size() && text[pos] == '%') {
      size_t close = text.find('%', pos + 1);
      if (close == std::string_view::npos) return tl::unexpected(Invalid("unterminated %regex%"));
      try {
        terms.regexes.emplace_back(std::string(text.substr(pos + 1, close - pos - 1)));
      } catch (const std::regex_error& e) {
        return tl::unexpected(Invalid(std::string("regular expression: ") + e.what()));
      }
      pos = close + 1;
      continue;
    } else {
      size_t start = pos;
      while (pos < text.size() && !std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
      term = std::string(text.substr(start, pos - start));
    }
    if (term.empty()) continue;
    (sign == '-' ? terms.none : sign == '?' ? terms.any : terms.all).push_back(std::move(term));
  }
  return terms;
}

}  // namespace

FilterPattern::FilterPattern() = default;
FilterPattern::~FilterPattern() = default;
FilterPattern::FilterPattern(FilterPattern&&) noexcept = default;
FilterPattern& FilterPattern::operator=(FilterPattern&&) noexcept = default;

Result<FilterPattern> FilterPattern::Parse(std::string_view pattern) {
  while (!pattern.empty() && std::isspace(static_cast<unsigned char>(pattern.front()))) pattern.remove_prefix(1);
  while (!pattern.empty() && std::isspace(static_cast<unsigned char>(pattern.back()))) pattern.remove_suffix(1);
  FilterPattern out;
  if (pattern.empty()) return out;
  if (pattern.front() == '[') return tl::unexpected(Invalid("space-delimited patterns are not supported"));
  if (pattern.front() == '{') {
    if (pattern.back() != '}') return tl::unexpected(Invalid("a JSON pattern ends with }"));
    auto root = JsonParser(pattern.substr(1, pattern.size() - 2)).Parse();
    if (!root) return tl::unexpected(root.error());
    out.root_ = std::move(*root);
    return out;
  }
  auto terms = ParseTerms(pattern);
  if (!terms) return tl::unexpected(terms.error());
  out.root_ = std::make_unique<Node>();
  out.root_->terms = std::move(*terms);
  return out;
}

bool FilterPattern::Matches(std::string_view message) const {
  if (!root_) return true;
  if (root_->kind != Node::Kind::kTerms) {
    // Only an event that is a JSON object has fields (as in CloudWatch: a text line with
    // JSON after its prefix does not).
    json doc = json::parse(message, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return false;
    return root_->Eval(doc);
  }
  const Terms& t = root_->terms;
  for (const auto& term : t.all) {
    if (message.find(term) == std::string_view::npos) return false;
  }
  for (const auto& term : t.none) {
    if (message.find(term) != std::string_view::npos) return false;
  }
  for (const auto& regex : t.regexes) {
    if (!std::regex_search(message.begin(), message.end(), regex)) return false;
  }
  if (t.any.empty()) return true;
  for (const auto& term : t.any) {
    if (message.find(term) != std::string_view::npos) return true;
  }
  return false;
}

}  // namespace lambent::logs
