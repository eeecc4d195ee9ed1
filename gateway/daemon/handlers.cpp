#include "handlers.h"

#include <algorithm>
#include <map>

#include "counters.h"
#include "request_args.h"
#include "vpn_kind.h"

namespace bulwark::daemon {

using gateway::ErrorCode;

nlohmann::json reply(const nlohmann::json& id, const Outcome& out) {
  if (out.ok) return gateway::okReply(id, out.body);
  return gateway::errorReply(id, out.code, out.message,
                             out.details.empty() ? nlohmann::json(nullptr) : nlohmann::json(out.details));
}

nlohmann::json busy(const nlohmann::json& id, std::string_view what) {
  return gateway::errorReply(id, ErrorCode::Conflict,
                             "busy: " + std::string(what) + "; try again in a moment");
}

Actor actorOf(const Peer& peer) {
  return Actor{peer.who(), peer.tls ? -1L : static_cast<long>(peer.uid)};  // a certificate has no uid
}

namespace {

// "10.99.0.5:51234" / "[2001:db8::5]:51234" → address and port.
std::optional<std::pair<policies::IpAddress, std::uint16_t>> endpointOf(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  auto a = policies::IpAddress::parse(host);
  auto k = engine::keptFlowFromText(host + " " + text.substr(colon + 1) + " " + host + " 1");
  if (!a || !k) return std::nullopt;
  return std::make_pair(*a, k->sport);
}

// The connections an apply's revocation never cuts: the TLS connection it came over, and
// the SSH session bulwarkctl ran in (`session`).
std::vector<engine::KeptFlow> keptFlows(const Peer& peer, const std::optional<engine::KeptFlow>& session) {
  std::vector<engine::KeptFlow> out;
  if (session) out.push_back(*session);
  if (peer.tls) {
    auto from = endpointOf(peer.address);
    auto to = endpointOf(peer.localAddress);
    if (from && to) out.push_back({from->first, from->second, to->first, to->second});
  }
  return out;
}

// plan/apply "parts" (request_args.h), checked against the kinds this daemon runs. An HA
// pair's plan and apply cover both nodes whole: parts only with local_only.
gateway::Result<std::vector<std::string>> partsOf(const gateway::Request& req, const Reconciler& r, bool pair) {
  auto parts = partsArg(req);
  if (!parts || parts->empty()) return parts;
  const auto kinds = r.kindNames();
  std::string known;
  for (const auto& k : kinds) known += (known.empty() ? "" : ", ") + k;
  for (const auto& p : *parts) {
    if (std::find(kinds.begin(), kinds.end(), p) == kinds.end()) {
      return gateway::Error{"'parts': this bulwarkd runs no kind '" + p + "' (it runs: " + known + ")"};
    }
  }
  if (pair) {
    return gateway::Error{"'parts' on an HA pair's node: the pair plans and applies whole policies on both nodes; "
                          "add local_only for this node alone"};
  }
  return parts;
}

JobWorker::Priority priorityOf(const Peer& peer) {
  // Changes (and the change role's plans) before view-role plans: a viewer's big plan cannot
  // make an administrator's apply wait behind several others.
  return peer.role == gateway::Role::Change || peer.role == gateway::Role::Peer ? JobWorker::Priority::High
                                                                                 : JobWorker::Priority::Normal;
}

}  // namespace

// ---- the ops -------------------------------------------------------------------------------

std::optional<nlohmann::json> RequestHandlers::operator()(const Peer& peer, gateway::Request& req,
                                                          Responder& respond) {
  const nlohmann::json& id = req.id;
  switch (req.op) {
    case gateway::Op::ShowStatus: {
      auto body = r_.status();
      body["you"] = {{"user", peer.user}, {"uid", peer.uid}, {"role", gateway::roleName(peer.role)}};
      body["busy_jobs"] = jobs_.pending();
      if (statusExtra_) statusExtra_(body);
      return gateway::okReply(id, std::move(body));
    }
    case gateway::Op::Plan: return plan(peer, req, respond);
    case gateway::Op::Apply: return apply(peer, req, respond);
    case gateway::Op::Confirm:
      if (pair_ && !r_.pendingPairPeer().empty()) return pairConfirm(peer, req, respond);
      return reply(id, r_.confirm(actorOf(peer)));
    case gateway::Op::Rollback: return rollback(peer, req, respond);
    case gateway::Op::Reload: {
      auto localOnly = flagArg(req, "local_only");
      if (!localOnly) return gateway::errorReply(id, ErrorCode::BadRequest, localOnly.error().message);
      auto done = [id, respond](const Outcome& out) { respond(gateway::frame(reply(id, out))); };
      if (jobs_.pending() >= JobWorker::kMaxQueued) return busy(id, "the policy worker's queue is full");
      reload(actorOf(peer), std::move(done), *localOnly);
      return std::nullopt;
    }
    case gateway::Op::History: return gateway::okReply(id, {{"revisions", r_.history(historyLimitArg(req))}});
    case gateway::Op::Revision: return revision(peer, req, respond);
    case gateway::Op::Counters: return counters(req, respond);
    case gateway::Op::Events: break;  // handled by dispatchRequest (subscription)
    case gateway::Op::Tunnels: return tunnels(peer, req, respond);
    case gateway::Op::Terminate: return terminate(peer, req, respond);
    case gateway::Op::PeerStatus:
    case gateway::Op::PeerPlan:
    case gateway::Op::PeerApply:
    case gateway::Op::PeerConfirm:
    case gateway::Op::PeerAbort: return peerOp(peer, req, respond);
  }
  return gateway::errorReply(id, ErrorCode::BadRequest, "unsupported op");
}

std::optional<nlohmann::json> RequestHandlers::submit(const Peer& peer, const nlohmann::json& id, JobWorker::Job job) {
  if (jobs_.submit(peer.limitKey(), priorityOf(peer), std::move(job))) return std::nullopt;
  return busy(id, std::to_string(jobs_.pending()) + " policy job(s) queued or running (at most " +
                      std::to_string(JobWorker::kMaxPerKey) + " per " +
                      (peer.tls ? "source address" : "user") + ")");
}

void RequestHandlers::heavyDone() {
  if (afterHeavy_) afterHeavy_();
}

std::optional<nlohmann::json> RequestHandlers::plan(const Peer& peer, gateway::Request& req, Responder& respond) {
  auto sources = sourcesArg(req);
  if (!sources) return gateway::errorReply(req.id, ErrorCode::BadRequest, sources.error().message);
  std::optional<PolicyInput> in = std::move(*sources);
  auto localOnly = flagArg(req, "local_only");
  if (!localOnly) return gateway::errorReply(req.id, ErrorCode::BadRequest, localOnly.error().message);
  auto parts = partsOf(req, r_, pair_ && !*localOnly);
  if (!parts) return gateway::errorReply(req.id, ErrorCode::BadRequest, parts.error().message);
  auto nftOnly = flagArg(req, "nft_only");
  if (!nftOnly) return gateway::errorReply(req.id, ErrorCode::BadRequest, nftOnly.error().message);
  // The running revision's policy, read here (the history is the loop's); the review against
  // it is computed with the rest. A pair runs one policy, so this node's review is the pair's.
  std::optional<review::AppliedPolicy> applied;
  if (!*nftOnly) applied = r_.appliedPolicy();
  if (pair_ && !*localOnly) return pairPlan(req, std::move(in), std::move(applied), respond);
  auto session = sessionArg(req);
  if (!session) return gateway::errorReply(req.id, ErrorCode::BadRequest, session.error().message);
  // All of it on the worker: load, validate, compile, observe, diff, review, and the reply's JSON.
  auto job = [prep = r_.preparer(), dir = r_.policyDir(), in = std::move(in), id = req.id, respond,
              kept = keptFlows(peer, *session), applied = std::move(applied), parts = std::move(*parts)]() mutable {
    Outcome out;
    if (in) {
      in->parts = std::move(parts);
      out = prep.plan(std::move(*in), kept, std::move(applied));
    } else if (auto read = readPolicyDir(dir)) {
      read->parts = std::move(parts);
      out = prep.plan(std::move(*read), kept, std::move(applied));
    } else {
      out = Outcome::failure(ErrorCode::InvalidPolicy, read.error().message);
    }
    return std::function<void()>([line = gateway::frame(reply(id, out)), respond]() mutable {
      respond(std::move(line));
    });
  };
  auto refused = submit(peer, req.id, std::move(job));
  if (refused) return refused;
  return std::nullopt;
}

std::optional<engine::FirewallChange> RequestHandlers::owedRevocation(Outcome& out, const Actor& actor,
                                                                      bool keepEstablished) {
  auto change = std::move(out.firewallChange);
  out.firewallChange.reset();
  if (!out.ok || !change || !change->judgeable()) return std::nullopt;
  if (keepEstablished) {
    out.body["revocation"] = {{"kept", true}};
    r_.audit().record({"revoke-skipped", actor.who, actor.uid, r_.currentRevision(), r_.currentHash(),
                       "established connections kept (keep_established)", true, {}});
    return std::nullopt;
  }
  return change;
}

void RequestHandlers::answerAfterRevocation(Outcome out, const nlohmann::json& id, const Responder& respond,
                                            const Actor& actor, bool keepEstablished,
                                            std::vector<engine::KeptFlow> kept) {
  auto change = owedRevocation(out, actor, keepEstablished);
  if (!change) {
    respond(gateway::frame(reply(id, out)));
    return;
  }
  // The reply waits for the cut (bounded: one dump of the table), so it can say what it cut.
  r_.revoke(std::move(*change), std::move(kept), actor,
            [id, respond, out = std::move(out)](nlohmann::json report) mutable {
              if (!report.is_null()) out.body["revocation"] = std::move(report);
              respond(gateway::frame(reply(id, out)));
            });
}

std::optional<nlohmann::json> RequestHandlers::apply(const Peer& peer, gateway::Request& req, Responder& respond) {
  auto confirmed = confirmArg(req, limits_.maxConfirmSeconds);
  if (!confirmed) return gateway::errorReply(req.id, ErrorCode::BadRequest, confirmed.error().message);
  std::optional<int> confirm = *confirmed;
  auto keep = keepEstablishedArg(req);
  if (!keep) return gateway::errorReply(req.id, ErrorCode::BadRequest, keep.error().message);
  auto session = sessionArg(req);
  if (!session) return gateway::errorReply(req.id, ErrorCode::BadRequest, session.error().message);
  const bool keepEstablished = *keep;
  auto kept = keptFlows(peer, *session);
  auto sources = sourcesArg(req);
  if (!sources) return gateway::errorReply(req.id, ErrorCode::BadRequest, sources.error().message);
  std::optional<PolicyInput> in = std::move(*sources);
  auto localOnly = flagArg(req, "local_only");
  if (!localOnly) return gateway::errorReply(req.id, ErrorCode::BadRequest, localOnly.error().message);
  auto resync = flagArg(req, "resync_peer");
  if (!resync) return gateway::errorReply(req.id, ErrorCode::BadRequest, resync.error().message);
  auto parts = partsOf(req, r_, pair_ && !*localOnly);
  if (!parts) return gateway::errorReply(req.id, ErrorCode::BadRequest, parts.error().message);
  if (pair_ && !*localOnly) {
    auto refused = pairApply({actorOf(peer), std::move(in), confirm, *resync, keepEstablished, std::move(kept)},
                             [id = req.id, respond](Outcome out) { respond(gateway::frame(reply(id, out))); });
    if (refused) return reply(req.id, *refused);
    return std::nullopt;
  }
  Actor actor = actorOf(peer);
  if (pair_) actor.who += " (local only: not on peer " + pair_->peer + ")";
  auto job = [prep = r_.preparer(), dir = r_.policyDir(), in = std::move(in), id = req.id, actor,
              confirm, respond, keepEstablished, kept, parts = std::move(*parts),
              this]() mutable -> std::function<void()> {
    gateway::Result<PolicyInput> read = in ? gateway::Result<PolicyInput>(std::move(*in)) : readPolicyDir(dir);
    if (!read) {
      return [line = gateway::frame(gateway::errorReply(id, ErrorCode::InvalidPolicy, read.error().message)),
              respond]() mutable { respond(std::move(line)); };
    }
    read->parts = std::move(parts);
    auto prepared = std::make_shared<PreparedPolicy>(prep.prepare(std::move(*read)));
    // The kernel half on the loop: it is what the loop serialises (confirm timer, drift).
    return [this, prepared, id, actor, confirm, respond, keepEstablished, kept] {
      auto out = r_.apply(std::move(*prepared), actor, confirm);
      answerAfterRevocation(std::move(out), id, respond, actor, keepEstablished, kept);
      heavyDone();
    };
  };
  return submit(peer, req.id, std::move(job));
}

std::optional<nlohmann::json> RequestHandlers::rollback(const Peer& peer, gateway::Request& req,
                                                        Responder& respond) {
  auto rev = revisionArg(req);  // range-checked: 4294967297 must not become revision 1
  if (!rev) return gateway::errorReply(req.id, ErrorCode::BadRequest, rev.error().message);
  const int revision = *rev;
  auto in = r_.revisionInput(revision);
  if (!in) return gateway::errorReply(req.id, ErrorCode::NotFound, in.error().message);
  auto kept = keptFlows(peer, std::nullopt);
  auto localOnly = flagArg(req, "local_only");
  if (!localOnly) return gateway::errorReply(req.id, ErrorCode::BadRequest, localOnly.error().message);
  if (pair_ && !*localOnly && !in->parts.empty()) {
    // Such a revision was this node's alone (parts need local_only on a pair): so is its rollback.
    return gateway::errorReply(req.id, ErrorCode::BadRequest,
                               "revision " + std::to_string(revision) +
                                   " applied some parts on this node alone: roll it back with local_only");
  }
  if (pair_ && !*localOnly) {
    // An HA pair rolls back as it applies: revision N's policy (this node's record of it) on
    // both nodes, committed on both or neither, so the pair never drifts apart by a rollback.
    return pairRollback(actorOf(peer), req.id, revision, std::move(*in), std::move(kept), respond);
  }
  auto job = [prep = r_.preparer(), in = std::move(*in), id = req.id, actor = actorOf(peer), revision, respond, kept,
              this]() mutable -> std::function<void()> {
    auto prepared = std::make_shared<PreparedPolicy>(prep.prepare(std::move(in)));
    return [this, prepared, id, actor, revision, respond, kept] {
      auto out = r_.rollback(revision, std::move(*prepared), actor);
      answerAfterRevocation(std::move(out), id, respond, actor, false, kept);
      heavyDone();
    };
  };
  return submit(peer, req.id, std::move(job));
}

// One revision with its policy texts, for a diff between revisions or against an editor
// (the console's History and Editor). Read on the policy worker: a record holds up to 16 MiB.
std::optional<nlohmann::json> RequestHandlers::revision(const Peer& peer, const gateway::Request& req,
                                                        Responder& respond) {
  auto rev = revisionArg(req);
  if (!rev) return gateway::errorReply(req.id, ErrorCode::BadRequest, rev.error().message);
  const int number = *rev;
  auto file = r_.revisionFile(number);
  if (!file) return gateway::errorReply(req.id, ErrorCode::NotFound, "no revision " + std::to_string(number));
  const bool current = number == r_.currentRevision();
  auto job = [file = *file, number, current, id = req.id, respond]() -> std::function<void()> {
    auto read = History::loadFile(file);
    // The reply names no path of the daemon's (the state dir is not the client's business).
    auto r = read ? gateway::okReply(id, {{"revision", read->meta()}, {"sources", sourcesJson(read->sources)}})
                  : gateway::errorReply(id, ErrorCode::Internal,
                                        "revision " + std::to_string(number) + " cannot be read");
    if (read) r["revision"]["current"] = current;
    return [line = gateway::frame(r), respond]() mutable { respond(std::move(line)); };
  };
  return submit(peer, req.id, std::move(job));
}

void RequestHandlers::reload(const Actor& actor, std::function<void(const Outcome&)> done, bool localOnly) {
  if (pair_ && !localOnly) {
    pairReload(actor, std::move(done));
    return;
  }
  Actor who = actor;
  if (pair_) who.who += " (local only: not on peer " + pair_->peer + ")";
  auto job = [prep = r_.preparer(), dir = r_.policyDir(), who, done, this]() mutable -> std::function<void()> {
    auto read = readPolicyDir(dir);
    auto prepared = std::make_shared<gateway::Result<PreparedPolicy>>(
        read ? gateway::Result<PreparedPolicy>(prep.prepare(std::move(*read), true))
             : gateway::Result<PreparedPolicy>(read.error()));
    return [this, prepared, who, done] { reloadHere(prepared, who, done); };
  };
  // The daemon's own request (SIGHUP) or the change role's: first in line.
  if (!jobs_.submit("reload", JobWorker::Priority::High, job)) {
    // Full: try again shortly (a reload must not be lost; the queue drains in seconds).
    loop_.after(std::chrono::milliseconds(500), [this, actor, done, localOnly] { reload(actor, done, localOnly); });
  }
}

void RequestHandlers::reloadHere(std::shared_ptr<gateway::Result<PreparedPolicy>> prepared, const Actor& actor,
                                 std::function<void(const Outcome&)> done) {
  auto out = r_.reload(std::move(*prepared), actor);
  auto change = std::move(out.firewallChange);
  out.firewallChange.reset();
  if (change) {
    r_.revoke(std::move(*change), {}, actor, [done, out](nlohmann::json report) mutable {
      if (!report.is_null()) out.body["revocation"] = std::move(report);
      if (done) done(out);
    });
  } else if (done) {
    done(out);
  }
  if (onReloaded_) onReloaded_();
  heavyDone();
}

std::optional<nlohmann::json> RequestHandlers::counters(gateway::Request& req, Responder& respond) {
  // A dump that starts after the request (not one already under way): the caller may just
  // have sent traffic it wants to see counted.
  auto ok = counters_.request(
      [id = req.id, respond](const CounterWorker::Sample& s) {
        if (!s.counters) {
          respond(gateway::frame(gateway::errorReply(id, ErrorCode::Kernel, s.counters.error().message)));
          return;
        }
        respond(gateway::frame(gateway::okReply(id, countersJson(*s.counters))));
      },
      false, true);
  if (!ok) return busy(req.id, "too many counter dumps waiting");
  return std::nullopt;
}

std::optional<nlohmann::json> RequestHandlers::tunnels(const Peer& peer, gateway::Request& req, Responder& respond) {
  if (limits_.viciUri.empty()) {
    return gateway::errorReply(req.id, ErrorCode::NotFound, "no VPN: bulwarkd runs without --vici");
  }
  // charon answers over VICI, which may take a while: off the loop.
  auto job = [uri = limits_.viciUri, id = req.id, respond]() -> std::function<void()> {
    auto rows = tunnelRows(uri);
    auto r = rows ? gateway::okReply(id, {{"tunnels", *rows}})
                  : gateway::errorReply(id, ErrorCode::Internal, rows.error().message);
    return [line = gateway::frame(r), respond]() mutable { respond(std::move(line)); };
  };
  return submit(peer, req.id, std::move(job));
}

std::optional<nlohmann::json> RequestHandlers::terminate(const Peer& peer, gateway::Request& req,
                                                         Responder& respond) {
  if (limits_.viciUri.empty()) {
    return gateway::errorReply(req.id, ErrorCode::NotFound, "no VPN: bulwarkd runs without --vici");
  }
  auto named = terminateUserArg(req);
  if (!named) return gateway::errorReply(req.id, ErrorCode::BadRequest, named.error().message);
  auto user = *named;
  auto job = [uri = limits_.viciUri, user, id = req.id, actor = actorOf(peer), respond,
              this]() -> std::function<void()> {
    auto n = terminateTunnels(uri, user);
    return [this, n = std::make_shared<decltype(n)>(std::move(n)), user, id, actor, respond] {
      if (!*n) {
        respond(gateway::frame(gateway::errorReply(id, ErrorCode::Internal, (*n).error().message)));
        return;
      }
      const auto count = **n;
      r_.audit().record({"terminate", actor.who, actor.uid, r_.currentRevision(), "",
                         "terminated " + std::to_string(count) + " tunnel(s) of " + user,
                         true, {{"user", user}}});
      if (count == 0) {
        respond(gateway::frame(gateway::errorReply(id, ErrorCode::NotFound, "no tunnel of " + user + " is up")));
        return;
      }
      respond(gateway::frame(gateway::okReply(id, {{"terminated", count}})));
    };
  };
  return submit(peer, req.id, std::move(job));
}

}  // namespace bulwark::daemon
