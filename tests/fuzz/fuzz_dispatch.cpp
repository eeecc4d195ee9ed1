// libFuzzer target for the control API's request path, as an authenticated peer of each role
// reaches it: the line framer, parseRequest (bounds before the parse), dispatchRequest (role
// checks, refusals, events), every op's argument checks (request_args.h, with the sources
// check of policy_input.h) and frame() of the reply.
//
// Input: one byte picking the context -- (byte % 7): role none / view / change, times Unix
// socket / TLS, and the HA peer (TLS) -- then the bytes a client would send (split into lines
// by the framer). The peer-* operations run the pair's rules (pair_rules.h): the header check,
// and a request body read as a peer-status reply (pairStateOf) and against this node's state
// (pairRevision).
//
// Beyond "no crash, no sanitizer report", it checks the daemon's promises: a peer without a
// role is refused and hung up on, the view role never reaches a changing op, refusals are
// audited with an op name (never the client's bytes), replies are one line, and no error text
// grows with the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "bulwark/gateway/protocol.h"
#include "bulwark/policies/source_files.h"
#include "dispatch.h"
#include "pair_rules.h"
#include "request_args.h"

namespace {

using namespace bulwark;
using namespace bulwark::daemon;

[[noreturn]] void broken(const char* what) {
  __builtin_trap();
  (void)what;
}

void check(bool ok, const char* what) {
  if (!ok) broken(what);
}

bool knownOp(std::string_view what) {
  for (const char* op : {"connect", "status", "plan", "apply", "confirm", "rollback", "reload", "history", "revision",
                         "counters", "events", "tunnels", "terminate", "peer-status", "peer-plan", "peer-apply",
                         "peer-confirm", "peer-abort"}) {
    if (what == op) return true;
  }
  return false;
}

// What the real handlers do with the arguments, without a reconciler behind them.
std::optional<nlohmann::json> handle(const Peer& peer, gateway::Request& req, Responder& respond) {
  check(peer.role != gateway::Role::None, "a peer without a role reached a handler");
  check(!gateway::opChanges(req.op) || peer.role == gateway::Role::Change, "the view role reached a change");
  check(gateway::opPeer(req.op) == (peer.role == gateway::Role::Peer), "a peer op crossed roles");
  nlohmann::json body = nlohmann::json::object();
  std::string error;
  switch (req.op) {
    case gateway::Op::Plan:
    case gateway::Op::Apply: {
      auto c = confirmArg(req, 3600);
      if (!c) error = c.error().message;
      auto s = sourcesArg(req);
      if (!s) error = s.error().message;
      if (s && *s) check((*s)->gitCommit.size() <= kMaxCommitHex + 6, "git_commit");
      if (s && *s) {
        std::size_t total = 0;
        for (const auto& src : (*s)->sources) total += src.text.size();
        check(total <= policies::kMaxPolicyBytes && (*s)->sources.size() <= policies::kMaxPolicyFiles, "sources");
        body["files"] = (*s)->sources.size();
      }
      auto parts = partsArg(req);
      if (!parts) error = parts.error().message;
      if (parts) {
        check(parts->size() <= kMaxParts, "parts");
        for (const auto& name : *parts) check(!name.empty() && name.size() <= kMaxPartBytes, "a part's name");
      }
      break;
    }
    case gateway::Op::Rollback:
    case gateway::Op::Revision: {
      auto r = revisionArg(req);
      if (!r) {
        error = r.error().message;
      } else {
        check(*r >= 1, "revision below 1");
        body["revision"] = *r;
      }
      break;
    }
    case gateway::Op::History: check(historyLimitArg(req) <= kMaxHistory, "history limit"); break;
    case gateway::Op::Terminate: {
      auto u = terminateUserArg(req);
      if (!u) error = u.error().message;
      break;
    }
    case gateway::Op::PeerStatus:
    case gateway::Op::PeerPlan:
    case gateway::Op::PeerApply:
    case gateway::Op::PeerConfirm:
    case gateway::Op::PeerAbort: {
      if (auto h = checkPeerHeader(req.body, peer); !h) error = h.error().message;
      auto state = pairStateOf(req.body);
      if (state) {
        check(state->revision >= 0 && state->latest >= 0 && state->hash.size() <= 64, "pair state bounds");
        PeerConfig cfg{"edge1-a", "edge1-b", "10.99.0.2", "10.99.0.3", 9443, "gw", {}};
        auto rev = pairRevision(PairState{state->revision, state->hash, state->latest, {}, ""}, *state, cfg, false);
        check(!rev || (*rev > state->latest && !state->pending), "pair revision");
        if (!rev) error = rev.error().message;
        body["state"] = pairStateJson(*state);
      }
      auto r = revisionArg(req);
      if (!r && error.empty()) error = r.error().message;
      break;
    }
    default: break;
  }
  auto reply = error.empty() ? gateway::okReply(req.id, std::move(body))
                             : gateway::errorReply(req.id, gateway::ErrorCode::BadRequest, error);
  if (req.op == gateway::Op::Counters) {  // answered later, as the real one is
    respond(gateway::frame(reply));
    return std::nullopt;
  }
  return reply;
}

void checkReply(const std::string& framed) {
  check(!framed.empty() && framed.back() == '\n' && framed.find('\n') == framed.size() - 1, "not one line");
  auto j = nlohmann::json::parse(framed, nullptr, false);
  check(!j.is_discarded() && j.is_object(), "reply is not a JSON object");
  if (j.contains("error")) {
    check(j["error"]["message"].get_ref<const std::string&>().size() < 1024, "an error text grows with the input");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const int context = data[0] % 7;
  Peer peer;
  peer.role = context == 6       ? gateway::Role::Peer
              : context % 3 == 0 ? gateway::Role::None
              : context % 3 == 1 ? gateway::Role::View
                                 : gateway::Role::Change;
  peer.tls = context >= 3;
  if (peer.tls) {
    peer.uid = static_cast<uid_t>(-1);
    peer.certCn = context == 6 ? "edge1-b" : "alice";
    peer.certGroup = context == 6 ? gateway::kPeerGroup : "netops";
    peer.certSerial = "0A";
    peer.address = "10.99.0.5:40000";
  } else {
    peer.uid = 1000;
    peer.user = "alice";
  }
  DispatchContext ctx;
  ctx.handler = handle;
  ctx.denied = [](const Peer&, std::string_view what) { check(knownOp(what), "a refusal logged client bytes"); };

  gateway::LineFramer framer(gateway::kMaxRequestBytes);
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  // In two pieces, split where the input says: the framer must not care where reads end.
  std::size_t cut = input.empty() ? 0 : data[0] % (input.size() + 1);
  bool fits = framer.append(input.substr(0, cut)) && framer.append(input.substr(cut));
  if (!fits) return 0;
  while (auto line = framer.next()) {
    if (line->empty()) continue;
    int answered = 0;
    auto d = dispatchLine(ctx, peer, *line, [&answered](std::string framed) {
      checkReply(framed);
      ++answered;
    });
    if (d.reply) {
      checkReply(gateway::frame(*d.reply));
      ++answered;
    }
    check(answered == 1, "a request was answered other than once");
    if (peer.role == gateway::Role::None) {
      check(d.close && d.reply && (*d.reply)["error"]["code"] == "denied", "a peer without a role was served");
      break;  // hung up on
    }
  }
  return 0;
}
