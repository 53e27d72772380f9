// One HTTP/1.1 connection: reads requests through Beast's parser by hand (rather than
// async_read) so that it knows when a request's first byte arrives and when a body makes
// progress: an idle connection, a trickled header, a stalled body and a stalled response
// each have their own deadline, and a parked request has none.
#include <poll.h>

#include <array>
#include <deque>
#include <optional>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "http/server.h"

namespace lambent::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kReadSize = 64 * 1024;
constexpr size_t kIdleBufferBytes = 4096;
constexpr size_t kMaxLingerBytes = 128 * 1024 * 1024;
constexpr auto kNever = Clock::time_point::max();
constexpr size_t kMaxGather = 64;  // body pieces per write of a streamed response

// A field whose name or value would end the header line early (a function's own headers
// reach streamed responses): it is left out rather than sent as a header injection.
bool SafeField(std::string_view name, std::string_view value) {
  auto clean = [](std::string_view text) { return text.find_first_of("\r\n") == std::string_view::npos; };
  return !name.empty() && clean(name) && clean(value);
}

// Transfer codings other than chunked (gzip, deflate, compress, anything unknown): RFC 9112
// 6.1 says to answer 501 to a coding the server does not understand. Beast would otherwise
// read such a body as empty and take its bytes for the next request.
bool HasUnsupportedCoding(const RequestHeader& header) {
  auto field = header.find(beast_http::field::transfer_encoding);
  if (field == header.end()) return false;
  for (auto coding : beast_http::token_list(field->value())) {
    if (!beast::iequals(coding, "chunked")) return true;
  }
  return false;
}

// What a parse error means for the client: the status and a sentence.
std::pair<unsigned, std::string> Explain(beast::error_code ec) {
  if (ec == beast_http::error::header_limit) return {431, "Request header fields too large"};
  if (ec.category() == boost::system::generic_category()) {
    // The spool's allowance is spent, or the daemon is out of descriptors for a spool file.
    if (ec.value() == ENOSPC || ec.value() == EMFILE || ec.value() == ENFILE) {
      return {503, "Too many request bodies in progress; retry later"};
    }
    return {500, fmt::format("Cannot store the request body: {}", ec.message())};
  }
  return {400, fmt::format("Malformed HTTP request: {}", ec.message())};
}

}  // namespace

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Handler& handler, SessionOptions options)
      : socket_(std::move(socket)), timer_(socket_.get_executor()), handler_(handler),
        options_(std::move(options)) {}

  ~Session() { ReleaseSlot(); }

  void Start() { NextRequest(); }

  void Write(Response response) {
    if (closed_) return;
    response.version(11);
    response.keep_alive(keep_alive_ && !close_after_write_);
    response.prepare_payload();
    response_ = std::move(response);
    serializer_.emplace(*response_);
    phase_ = Phase::kWriting;
    Arm(options_.write_timeout);
    WriteSome();
  }

  // A streamed response (Responder::Stream): the header now, then pieces as they come.
  void StartStream(ResponseHeader header) {
    if (closed_) return;
    phase_ = Phase::kStreaming;
    stream_chunked_ = request_version_ >= 11;
    if (!stream_chunked_) keep_alive_ = false;
    std::string head = fmt::format("HTTP/1.1 {} {}\r\n", header.result_int(),
                                   std::string_view(header.reason()));
    for (const auto& field : header) {
      auto name = std::string_view(field.name_string());
      auto value = std::string_view(field.value());
      if (field.name() == beast_http::field::transfer_encoding || field.name() == beast_http::field::content_length ||
          field.name() == beast_http::field::connection) {
        continue;
      }
      if (!SafeField(name, value)) {
        spdlog::warn("http: left out a response header with a line break in it");
        continue;
      }
      head.append(name).append(": ").append(value).append("\r\n");
    }
    if (stream_chunked_) head += "Transfer-Encoding: chunked\r\n";
    head += keep_alive_ ? "\r\n" : "Connection: close\r\n\r\n";
    stream_out_.push_back(std::move(head));
    Flush();
  }

  void StreamWrite(std::string piece) {
    if (closed_ || phase_ != Phase::kStreaming || stream_end_ != StreamState::kOpen || piece.empty()) return;
    if (head_request_) return;  // HEAD: the header says what a GET would get, without its body
    if (stream_chunked_) {
      stream_out_.push_back(fmt::format("{:x}\r\n", piece.size()));
      stream_out_.push_back(std::move(piece));
      stream_out_.push_back("\r\n");
    } else {
      stream_out_.push_back(std::move(piece));
    }
    Flush();
  }

  void StreamEnd(bool complete) {
    if (closed_ || phase_ != Phase::kStreaming || stream_end_ != StreamState::kOpen) return;
    stream_end_ = complete ? StreamState::kComplete : StreamState::kAborted;
    if (complete && stream_chunked_ && !head_request_) stream_out_.push_back("0\r\n\r\n");
    Flush();
  }

  void Abandon() {
    // A request that will never be answered: the client must not wait forever.
    asio::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->Shutdown(); });
  }

  void Shutdown() {
    if (closed_) return;
    closed_ = true;
    beast::error_code ignored;
    timer_.cancel();
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    ReleaseSlot();
  }

  bool closed() const { return closed_; }
  tcp::socket& socket() { return socket_; }

 private:
  enum class Phase { kIdle, kHeader, kBody, kHandling, kWriting, kStreaming, kLinger };
  enum class StreamState { kOpen, kComplete, kAborted };

  void NextRequest() {
    parser_.emplace();
    parser_->header_limit(options_.header_limit);
    // The body limit is chosen per route once the header is known.
    parser_->body_limit(boost::none);
    parser_->get().body().set_spool(options_.spool.get());
    body_sink_ = nullptr;
    // Bytes already here (a pipelined request) start its header clock at once.
    phase_ = buffer_.size() ? Phase::kHeader : Phase::kIdle;
    // An idle connection keeps no read buffer: thousands of them would hold 64 KiB each.
    if (phase_ == Phase::kIdle && buffer_.capacity() > kIdleBufferBytes) buffer_.shrink_to_fit();
    Arm(phase_ == Phase::kIdle ? options_.idle_timeout : options_.header_timeout);
    Parse();
  }

  void Read() {
    // Small reads until a request proves large (Beast's read_size grows with the buffer). A
    // streamed body never grows the buffer (its pieces leave as they are parsed): it reads
    // large at once, or its pieces would be a few hundred bytes each.
    size_t want = body_sink_ ? kReadSize : beast::read_size(buffer_, kReadSize);
    socket_.async_read_some(buffer_.prepare(want),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->OnRead(ec, n);
                            });
  }

  // Every completion checks closed_ first: after Shutdown() the handler may be gone.
  void OnRead(beast::error_code ec, size_t n) {
    if (closed_) return;
    // A client that goes away mid-request gets no answer: nobody would read it.
    if (ec) return Shutdown();
    buffer_.commit(n);
    if (phase_ == Phase::kIdle) {
      phase_ = Phase::kHeader;
      Arm(options_.header_timeout);
    } else if (phase_ == Phase::kBody) {
      Arm(options_.body_timeout);
    }
    Parse();
  }

  void Parse() {
    while (buffer_.size() > 0 && !parser_->is_done()) {
      beast::error_code ec;
      size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == beast_http::error::need_more) break;
      if (ec) return OnParseError(ec);
      if (phase_ == Phase::kHeader && parser_->is_header_done() && !OnHeader()) return;
    }
    if (parser_->is_done()) return OnComplete();
    Read();
  }

  // Returns false when the request was refused.
  bool OnHeader() {
    phase_ = Phase::kBody;
    const auto& header = parser_->get().base();
    if (HasUnsupportedCoding(header)) {
      Refuse(handler_.ProtocolError(501, "Transfer-Encoding other than chunked is not supported"));
      return false;
    }
    uint64_t limit = handler_.BodyLimit(header);
    auto length = parser_->content_length();
    if (length && *length > limit) {
      // Refuse before reading: the client learns at once and nothing is buffered.
      Refuse(handler_.Reject(header, limit));
      return false;
    }
    parser_->body_limit(limit);
    if (parser_->chunked()) {
      if (auto sink = handler_.StreamBody(header)) {
        body_sink_ = std::move(sink);
        parser_->on_chunk_body(on_chunk_body_);
      }
    }
    Arm(options_.body_timeout);
    return true;
  }

  // A streamed body's pieces go to the handler's sink, not into the body (Beast's parser
  // calls this with each piece of chunk data as it is parsed).
  size_t OnChunkBody(uint64_t, std::string_view piece, beast::error_code& ec) {
    if (!body_sink_) return piece.size();
    try {
      body_sink_(piece);
    } catch (const std::exception& e) {
      spdlog::error("http: a streamed request body's sink failed: {}", e.what());
      ec = beast_http::error::bad_chunk;
      return 0;
    }
    return piece.size();
  }

  void OnParseError(beast::error_code ec) {
    if (ec == beast_http::error::body_limit) {
      const auto& header = parser_->get().base();
      return Refuse(handler_.Reject(header, handler_.BodyLimit(header)));
    }
    auto [status, message] = Explain(ec);
    if (status >= 500) spdlog::warn("http: refused a request: {}", message);
    Refuse(handler_.ProtocolError(status, message));
  }

  void OnComplete() {
    phase_ = Phase::kHandling;
    // Nothing is read while a request is handled, however long that takes.
    Disarm();
    keep_alive_ = parser_->get().keep_alive();
    request_version_ = parser_->get().version();
    head_request_ = parser_->get().method() == beast_http::verb::head;
    body_sink_ = nullptr;
    auto message = parser_->release();
    parser_.reset();
    if (message.body().spooled() && options_.blocking) {
      // Read back on a worker, handled back here: the io thread does not wait for the disk.
      auto data = std::make_shared<SpooledData>(std::move(message.body()));
      auto header = std::make_shared<RequestHeader>(std::move(message.base()));
      asio::post(*options_.blocking, [self = shared_from_this(), data, header]() mutable {
        auto body = std::make_shared<Result<std::string>>(data->Take());
        data.reset();
        asio::dispatch(self->socket_.get_executor(), [self, header, body] {
          self->Dispatch(std::move(*header), std::move(*body));
        });
      });
      return;
    }
    Dispatch(std::move(message.base()), message.body().Take());
  }

  void Dispatch(RequestHeader header, Result<std::string> body) {
    if (closed_) return;
    if (!body) {
      spdlog::warn("http: {}", body.error().message());
      return Refuse(handler_.ProtocolError(500, body.error().message()));
    }
    Request request(std::move(header), std::move(*body));
    handler_.Handle(std::move(request), Responder(shared_from_this()));
  }

  // Answers without handling, then closes.
  void Refuse(Response response) {
    parser_.reset();
    close_after_write_ = true;
    keep_alive_ = false;
    Write(std::move(response));
  }

  void WriteSome() {
    beast_http::async_write_some(socket_, *serializer_,
                                 [self = shared_from_this()](beast::error_code ec, size_t) {
                                   self->OnWrite(ec);
                                 });
  }

  void OnWrite(beast::error_code ec) {
    if (closed_) return;
    if (ec) return Shutdown();
    if (!serializer_->is_done()) {
      Arm(options_.write_timeout);  // progress: a slow reader is not a stalled one
      return WriteSome();
    }
    serializer_.reset();
    response_.reset();
    if (close_after_write_) return Linger();
    if (!keep_alive_) return Shutdown();
    NextRequest();
  }

  // Sends what a streamed response has queued, gathered into one write; waits for more when
  // the queue is empty (a function may take minutes between pieces: no deadline then).
  void Flush() {
    if (stream_writing_ || closed_) return;
    if (stream_out_.empty()) {
      Disarm();
      if (stream_end_ == StreamState::kOpen) return;
      bool complete = stream_end_ == StreamState::kComplete;
      stream_end_ = StreamState::kOpen;
      if (!complete || !keep_alive_) return Shutdown();
      return NextRequest();
    }
    std::vector<asio::const_buffer> gather;
    size_t count = std::min(stream_out_.size(), kMaxGather);
    gather.reserve(count);
    for (size_t i = 0; i < count; ++i) gather.push_back(asio::buffer(stream_out_[i]));
    stream_writing_ = true;
    Arm(options_.write_timeout);
    asio::async_write(socket_, gather, [self = shared_from_this(), count](beast::error_code ec, size_t) {
      self->stream_writing_ = false;
      if (self->closed_) return;
      if (ec) return self->Shutdown();
      self->stream_out_.erase(self->stream_out_.begin(), self->stream_out_.begin() + long(count));
      self->Flush();
    });
  }

  // After refusing a request we did not read: half-close and discard what the client still
  // sends, so it reads our answer instead of a connection reset.
  void Linger() {
    if (phase_ != Phase::kLinger) {
      phase_ = Phase::kLinger;
      beast::error_code ignored;
      socket_.shutdown(tcp::socket::shutdown_send, ignored);
      buffer_.clear();
      Arm(options_.body_timeout);
    }
    if (!discard_) discard_ = std::make_unique<std::array<char, 65536>>();
    socket_.async_read_some(asio::buffer(*discard_), [self = shared_from_this()](beast::error_code ec, size_t n) {
      self->lingered_ += n;
      if (ec || self->closed_ || self->lingered_ > kMaxLingerBytes) return self->Shutdown();
      self->Linger();
    });
  }

  // The connection's one deadline, moved as it goes from phase to phase. One timer per
  // session: moving the deadline later costs nothing (the timer re-checks when it fires);
  // only an earlier one re-arms it.
  void Arm(std::chrono::milliseconds timeout) {
    if (timeout.count() <= 0) return Disarm();
    deadline_ = Clock::now() + timeout;
    if (timer_waiting_ && timer_.expiry() <= deadline_) return;
    WaitTimer();
  }

  void Disarm() { deadline_ = kNever; }

  void WaitTimer() {
    timer_waiting_ = true;
    // Re-arming cancels the wait before it, whose handler then sees a newer generation.
    timer_.expires_at(deadline_);
    timer_.async_wait([self = shared_from_this(), generation = ++timer_generation_](beast::error_code ec) {
      self->OnTimer(ec, generation);
    });
  }

  void OnTimer(beast::error_code ec, uint64_t generation) {
    if (generation != timer_generation_) return;
    timer_waiting_ = false;
    if (closed_ || ec || deadline_ == kNever) return;
    if (Clock::now() < deadline_) return WaitTimer();
    // Idle, trickling, stalled or lingering: nothing more is owed to this client.
    Shutdown();
  }

  void ReleaseSlot() {
    if (options_.open_count && !slot_released_) {
      slot_released_ = true;
      --*options_.open_count;
    }
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  Handler& handler_;
  SessionOptions options_;
  beast::flat_buffer buffer_;
  std::optional<beast_http::request_parser<SpooledBody>> parser_;
  std::optional<Response> response_;
  std::optional<beast_http::response_serializer<beast_http::string_body>> serializer_;
  BodyPieceSink body_sink_;
  // Beast holds the chunk callback by reference: it lives here, as long as the session.
  std::function<size_t(uint64_t, std::string_view, beast::error_code&)> on_chunk_body_ =
      [this](uint64_t remain, std::string_view piece, beast::error_code& ec) { return OnChunkBody(remain, piece, ec); };
  std::deque<std::string> stream_out_;
  StreamState stream_end_ = StreamState::kOpen;
  bool stream_writing_ = false;
  bool stream_chunked_ = true;
  unsigned request_version_ = 11;
  bool head_request_ = false;
  std::unique_ptr<std::array<char, 65536>> discard_;
  size_t lingered_ = 0;
  Phase phase_ = Phase::kIdle;
  Clock::time_point deadline_ = kNever;
  uint64_t timer_generation_ = 0;
  bool timer_waiting_ = false;
  bool keep_alive_ = true;
  bool close_after_write_ = false;
  bool closed_ = false;
  bool slot_released_ = false;
};

Responder::~Responder() {
  if (session_) session_->Abandon();
}

void Responder::operator()(Response response) {
  auto session = std::move(session_);
  if (!session) return;
  asio::dispatch(session->socket().get_executor(),
                 [session, response = std::move(response)]() mutable {
                   session->Write(std::move(response));
                 });
}

StreamWriter Responder::Stream(ResponseHeader header) {
  auto session = std::move(session_);
  if (!session) return StreamWriter(nullptr);
  asio::dispatch(session->socket().get_executor(), [session, header = std::move(header)]() mutable {
    session->StartStream(std::move(header));
  });
  return StreamWriter(std::move(session));
}

StreamWriter::~StreamWriter() {
  if (session_) Abort();
}

void StreamWriter::Write(std::string piece) {
  if (!session_) return;
  asio::dispatch(session_->socket().get_executor(), [session = session_, piece = std::move(piece)]() mutable {
    session->StreamWrite(std::move(piece));
  });
}

void StreamWriter::End() {
  auto session = std::move(session_);
  if (!session) return;
  asio::dispatch(session->socket().get_executor(), [session] { session->StreamEnd(true); });
}

void StreamWriter::Abort() {
  auto session = std::move(session_);
  if (!session) return;
  asio::dispatch(session->socket().get_executor(), [session] { session->StreamEnd(false); });
}

bool StreamWriter::connected() const { return session_ && !session_->closed(); }

bool Responder::connected() const { return session_ && !session_->closed(); }

bool Responder::peer_open() const {
  if (!connected()) return false;
  // A peer that closed shows POLLRDHUP (or POLLHUP/POLLERR after a reset) even though
  // nothing reads the socket while its request waits.
  pollfd probe{session_->socket().native_handle(), POLLRDHUP, 0};
  if (::poll(&probe, 1, 0) < 0) return true;
  return (probe.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) == 0;
}

std::string Responder::peer_address() const {
  if (!connected()) return {};
  beast::error_code ec;
  auto endpoint = session_->socket().remote_endpoint(ec);
  if (ec) return {};
  auto address = endpoint.address();
  // An IPv4 client of a dual-stack socket shows as ::ffff:a.b.c.d.
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6()).to_string();
  }
  return address.to_string();
}

std::shared_ptr<Session> Serve(tcp::socket socket, Handler& handler, SessionOptions options) {
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  auto session = std::make_shared<Session>(std::move(socket), handler, std::move(options));
  session->Start();
  return session;
}

void Close(const std::shared_ptr<Session>& session) {
  if (session) session->Shutdown();
}

}  // namespace lambent::http
