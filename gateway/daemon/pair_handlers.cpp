// The HA pair's side of the control API (peer_link.h has the protocol): plan, apply and
// confirm on one node cover both, and the peer-* operations answer the other node.
#include <algorithm>
#include <memory>

#include "handlers.h"
#include "request_args.h"

namespace bulwark::daemon {

using gateway::ErrorCode;

namespace {

// The "error" object of a reply the peer sent; an empty object when it has none.
const nlohmann::json& peerError(const nlohmann::json& peerReply) {
  static const nlohmann::json kNone = nlohmann::json::object();
  auto it = peerReply.find("error");
  return it != peerReply.end() && it->is_object() ? *it : kNone;
}

// A reply the peer sent (ok or not) as an error of ours: its message, code and diagnostics.
Outcome peerRefusal(const PeerConfig& cfg, const nlohmann::json& peerReply, const std::string& what) {
  const auto& err = peerError(peerReply);
  const auto code = err.value("code", std::string("internal"));
  ErrorCode c = ErrorCode::Conflict;
  if (code == "invalid_policy") c = ErrorCode::InvalidPolicy;
  if (code == "unavailable") c = ErrorCode::Unavailable;
  if (code == "kernel") c = ErrorCode::Kernel;
  if (code == "denied") c = ErrorCode::Denied;
  std::vector<std::string> diags;
  if (err.contains("diagnostics") && err["diagnostics"].is_array()) {
    for (const auto& d : err["diagnostics"]) {
      if (d.is_string()) diags.push_back(d.get<std::string>());
    }
  }
  // A kernel failure is not a refusal: the peer tried, and its engine put it back.
  const std::string verb = c == ErrorCode::Kernel ? "failed to apply it" : what;
  return Outcome::failure(c, "peer " + cfg.describe() + " " + verb + ": " + err.value("message", "?"), std::move(diags));
}

// The message of an error reply the peer sent.
std::string peerMessage(const nlohmann::json& peerReply) {
  return peerError(peerReply).value("message", std::string("?"));
}

// A completion that answers the request with `line` (on the loop).
std::function<void()> answer(const Responder& respond, nlohmann::json r) {
  return [line = gateway::frame(r), respond]() mutable { respond(std::move(line)); };
}

bool allDesiredOk(const PreparedPolicy& p) {
  return std::all_of(p.desired.begin(), p.desired.end(), [](const auto& d) { return d.ok(); });
}

}  // namespace

PairState RequestHandlers::pairState() const {
  PairState s;
  s.revision = r_.currentRevision();
  s.hash = r_.currentHash();
  s.latest = r_.latestRevisionNumber();
  s.pending = r_.pendingRevision();
  if (statusExtra_) {
    nlohmann::json extra = nlohmann::json::object();
    statusExtra_(extra);
    if (extra.contains("ha") && extra["ha"].is_object()) s.role = extra["ha"].value("role", std::string());
  }
  return s;
}

bool RequestHandlers::queuePeer(JobWorker::Job job) {
  return peerJobs_ != nullptr && peerJobs_->submit("pair", JobWorker::Priority::High, std::move(job));
}

std::optional<nlohmann::json> RequestHandlers::submitPeer(const nlohmann::json& id, JobWorker::Job job) {
  if (queuePeer(std::move(job))) return std::nullopt;
  return busy(id, "a pair operation with the peer is under way");
}

namespace {

Outcome peerBusy() {
  return Outcome::failure(ErrorCode::Conflict, "busy: a pair operation with the peer is under way; try again in a moment");
}

}  // namespace

// ---- plan: this node's plan and the peer's ---------------------------------------------------

std::optional<nlohmann::json> RequestHandlers::pairPlan(gateway::Request& req, std::optional<PolicyInput> in,
                                                        std::optional<review::AppliedPolicy> applied,
                                                        Responder& respond) {
  auto job = [prep = r_.preparer(), dir = r_.policyDir(), in = std::move(in), cfg = *pair_, id = req.id,
              applied = std::move(applied), respond]() mutable -> std::function<void()> {
    auto read = in ? gateway::Result<PolicyInput>(std::move(*in)) : readPolicyDir(dir);
    if (!read) return answer(respond, gateway::errorReply(id, ErrorCode::InvalidPolicy, read.error().message));
    auto sources = sourcesJson(read->sources);
    Outcome out = prep.plan(std::move(*read), {}, std::move(applied));
    if (!out.ok) return answer(respond, reply(id, out));  // invalid here: not sent to the peer
    nlohmann::json peer{{"node", cfg.peer}};
    auto theirs = peerCall(cfg, "peer-plan", {{"sources", std::move(sources)}}, kPeerApplyTimeout);
    if (!theirs) {
      peer["error"] = theirs.error().message;
    } else if (!theirs->value("ok", false)) {
      const auto& err = (*theirs)["error"];
      peer["error"] = err.is_object() ? err.value("message", "?") : "?";
      if (err.is_object() && err.contains("diagnostics")) peer["diagnostics"] = err["diagnostics"];
    } else {
      theirs->erase("id");
      theirs->erase("ok");
      peer.update(*theirs);
    }
    out.body["node"] = cfg.node;
    out.body["peer"] = std::move(peer);
    return answer(respond, reply(id, out));
  };
  return submitPeer(req.id, std::move(job));
}

// ---- apply: validate here, the peer's half, this node's half, commit --------------------------

std::optional<Outcome> RequestHandlers::pairApply(PairChange change, PairDone done) {
  const int window = change.confirm.value_or(std::min(kPairCommitSeconds, limits_.maxConfirmSeconds));
  auto req = std::make_shared<PairChange>(std::move(change));
  auto job = [prep = r_.preparer(), dir = r_.policyDir(), cfg = *pair_, mine = pairState(), req, window, done,
              this]() mutable -> std::function<void()> {
    const Actor actor = req->actor;
    auto read = req->in ? gateway::Result<PolicyInput>(std::move(*req->in)) : readPolicyDir(dir);
    req->in.reset();
    if (!read) {
      if (!req->reload) return [done, msg = read.error().message] { done(Outcome::failure(ErrorCode::InvalidPolicy, msg)); };
      auto failed = std::make_shared<gateway::Result<PreparedPolicy>>(read.error());
      return [this, failed, actor, done] { reloadHere(failed, actor, done); };  // audited: reload-failed
    }
    auto prepared = std::make_shared<PreparedPolicy>(prep.prepare(std::move(*read), req->reload));
    if (req->reload && (!prepared->valid || prepared->input.hash == mine.hash)) {
      // An invalid dir is refused as by any reload (audited; nothing changes on either node).
      // The running revision's policy: reconciled here as by any reload, which changes nothing
      // while the kernel holds that revision (no revision recorded, nothing for the peer).
      auto here = std::make_shared<gateway::Result<PreparedPolicy>>(std::move(*prepared));
      return [this, here, actor, done] { reloadHere(here, actor, done); };
    }
    if (!prepared->valid || !allDesiredOk(*prepared)) {
      // Invalid: refused here (the reconciler audits it); the peer never sees it.
      return [this, prepared, req, window, peer = cfg.peer, done] {
        if (!req->reload) {
          done(r_.apply(std::move(*prepared), req->actor, req->confirm));
          return;
        }
        done(r_.pairReload(std::move(*prepared), req->actor, window, PairApply{r_.latestRevisionNumber() + 1, peer}));
        if (onReloaded_) onReloaded_();
      };
    }
    const std::string event = req->reload ? "reload" : "apply";
    auto refuse = [&](Outcome o) -> std::function<void()> {
      return [this, o = std::move(o), actor, event, hash = prepared->input.hash, done] {
        r_.audit().record({event + "-rejected", actor.who, actor.uid, r_.currentRevision(), hash, o.message, false, {}});
        done(o);
      };
    };
    const std::string nothing = "; nothing was changed on either node";
    auto st = peerCall(cfg, "peer-status", nlohmann::json::object(), kPeerStatusTimeout);
    if (!st) {
      return refuse(Outcome::failure(ErrorCode::Conflict, st.error().message + nothing + " (bulwarkctl " + event +
                                                              " --local-only " +
                                                              (req->reload ? "reloads" : "applies") +
                                                              " on this node alone)"));
    }
    if (!st->value("ok", false)) {
      auto r = peerRefusal(cfg, *st, "refused peer-status");
      return refuse(Outcome::failure(ErrorCode::Conflict, r.message + nothing));
    }
    auto theirs = pairStateOf(*st);
    if (!theirs) {
      return refuse(Outcome::failure(ErrorCode::Internal, "peer " + cfg.describe() + ": " + theirs.error().message + nothing));
    }
    auto revision = pairRevision(mine, *theirs, cfg, req->resync);
    if (!revision) return refuse(Outcome::failure(ErrorCode::Conflict, revision.error().message + nothing));
    nlohmann::json args{{"sources", sourcesJson(prepared->input.sources)}, {"revision", *revision}, {"confirm", window}};
    if (req->keepEstablished) args["keep_established"] = true;
    // Both nodes record the revision with the same commit (the peer gets the texts, not the dir).
    if (!prepared->input.gitCommit.empty()) args["git_commit"] = prepared->input.gitCommit;
    auto applied = peerCall(cfg, "peer-apply", std::move(args), kPeerApplyTimeout);
    if (!applied) {
      // The request may have reached the peer: make sure its half is undone (it also rolls
      // back by itself when its window ends).
      auto undo = peerCall(cfg, "peer-abort", {{"revision", *revision}}, kPeerConfirmTimeout);
      return refuse(Outcome::failure(
          ErrorCode::Conflict, applied.error().message + "; nothing was changed here" +
                                   (undo && undo->value("ok", false)
                                        ? "; the peer rolled its half back"
                                        : "; the peer rolls back within " + std::to_string(window) + " s if it applied")));
    }
    if (!applied->value("ok", false)) {
      auto r = peerRefusal(cfg, *applied, "refused the policy");
      r.message += nothing;
      return refuse(std::move(r));
    }
    return [this, cfg, prepared, req, window, rev = *revision, body = std::move(*applied), done] {
      pairApplyHere(cfg, prepared, req, window, rev, body, done);
    };
  };
  if (!queuePeer(std::move(job))) return peerBusy();
  return std::nullopt;
}

void RequestHandlers::pairApplyHere(const PeerConfig& cfg, std::shared_ptr<PreparedPolicy> prepared,
                                    std::shared_ptr<PairChange> change, int window, int revision,
                                    nlohmann::json peerBody, PairDone done) {
  PairApply pa{revision, cfg.peer};
  Actor who = change->actor;
  who.who += " (pair " + std::string(change->reload ? "reload" : "apply") + " with " + cfg.peer + ")";
  auto out = change->reload ? r_.pairReload(std::move(*prepared), who, window, pa)
                            : r_.apply(std::move(*prepared), who, window, &pa);
  heavyDone();
  if (change->reload && onReloaded_) onReloaded_();  // the dir's settings (TLS listener) follow it
  nlohmann::json peerSummary{{"node", cfg.peer},
                             {"revision", peerBody.value("revision", 0)},
                             {"policy_hash", peerBody.value("policy_hash", std::string())},
                             {"changed", peerBody.value("changed", false)},
                             {"summary", peerBody.value("summary", std::string())}};
  if (!out.ok) {
    // This node's half failed (the engine restored it): the peer's half goes back too.
    auto job = [cfg, revision, out, done]() -> std::function<void()> {
      auto undo = peerCall(cfg, "peer-abort", {{"revision", revision}}, kPeerConfirmTimeout);
      Outcome o = out;
      o.message += undo && undo->value("ok", false)
                       ? "; peer " + cfg.peer + " rolled its half back: nothing changed on either node"
                       : "; peer " + cfg.peer + " could not be told (it rolls back by itself within its window)";
      return [done, o] { done(o); };
    };
    if (!queuePeer(std::move(job))) done(out);
    return;
  }
  // This node's half cuts what its change no longer allows, as a single node's apply does; the
  // pair's reply does not wait for it (the pair's commit comes first).
  if (auto cut = owedRevocation(out, who, change->keepEstablished)) {
    r_.revoke(std::move(*cut), change->kept, who, nullptr);  // audited and counted there
  }
  out.body["node"] = cfg.node;
  out.body["peer"] = peerSummary;
  if (change->confirm) {
    out.body["note"] = "both nodes wait for `bulwarkctl confirm` (on either node) within " +
                       std::to_string(*change->confirm) + " s, else both roll back";
    done(out);
    return;
  }
  // No confirm asked for: the pair commits now (the peer first; if it cannot, this node rolls
  // back too and the peer does so at its deadline).
  const Actor actor = change->actor;
  auto job = [cfg, revision, actor, out, done, this]() -> std::function<void()> {
    auto c = peerCall(cfg, "peer-confirm", {{"revision", revision}}, kPeerConfirmTimeout);
    const bool ok = c && c->value("ok", false);
    std::string why = !c ? c.error().message : ok ? "" : peerMessage(*c);
    return [this, ok, why, cfg, revision, actor, out, done] {
      if (ok) {
        Actor commit = actor;
        commit.who += " (pair commit)";
        auto conf = r_.confirm(commit, revision);
        Outcome o = out;
        o.body.erase("confirm_deadline_seconds");  // the pair's own window, closed by its commit
        o.body["committed"] = true;
        if (!conf.ok) o = conf;
        done(o);
        return;
      }
      auto undone = r_.abortPending(revision, actor, "peer " + cfg.peer + " did not commit it (" + why + ")");
      (void)undone;
      done(Outcome::failure(ErrorCode::Conflict,
                            "peer " + cfg.describe() + " did not commit revision " + std::to_string(revision) + ": " +
                                why + "; rolled back here, and the peer rolls back at its deadline: nothing changed on "
                                      "either node"));
    };
  };
  if (!queuePeer(std::move(job))) {
    (void)r_.abortPending(revision, actor, "the pair commit could not be queued");
    done(peerBusy());
  }
}

// ---- rollback: revision N's policy on both; a pending pair apply abandoned first --------------

std::optional<nlohmann::json> RequestHandlers::pairRollback(const Actor& actor, const nlohmann::json& id, int revision,
                                                            PolicyInput in, std::vector<engine::KeptFlow> kept,
                                                            Responder& respond) {
  PairDone finish = [id, respond](Outcome out) { respond(gateway::frame(reply(id, out))); };
  PairChange change{actor, std::move(in), std::nullopt, false, false, std::move(kept)};
  const auto pending = r_.pendingRevision();
  if (!pending) {
    auto refused = pairApply(std::move(change), finish);
    return refused ? std::optional<nlohmann::json>(reply(id, *refused)) : std::nullopt;
  }
  const std::string n = std::to_string(revision);
  const std::string p = std::to_string(*pending);
  if (r_.pendingPairPeer() != pair_->peer) {
    return gateway::errorReply(id, ErrorCode::Conflict,
                               "revision " + p + " awaits confirmation on this node alone (an apply --local-only): "
                               "`bulwarkctl rollback --local-only " + n + "` rolls this node back (the pair is out "
                               "of sync until then); nothing was changed");
  }
  // A pair apply awaits confirmation on both nodes and the user wants out: both halves are
  // abandoned first (the peer's, then this node's: both back at the revision before it), then
  // revision N's policy goes to both as any pair rollback, under one new revision.
  auto c = std::make_shared<PairChange>(std::move(change));
  auto job = [cfg = *pair_, pend = *pending, n, p, c, finish, this]() -> std::function<void()> {
    auto undo = peerCall(cfg, "peer-abort", {{"revision", pend}}, kPeerConfirmTimeout);
    if (!undo || !undo->value("ok", false)) {
      const std::string why = !undo ? undo.error().message : "peer " + cfg.describe() + ": " + peerMessage(*undo);
      return [this, why, n, p, c, finish] {
        const std::string msg = "revision " + p + " awaits confirmation on both nodes and could not be abandoned on "
                                "the peer (" + why + "); nothing was changed on either node: `bulwarkctl rollback " +
                                "--local-only " + n + "` rolls this node back alone, else both roll back at their "
                                "deadline";
        r_.audit().record({"rollback-rejected", c->actor.who, c->actor.uid, r_.currentRevision(), r_.currentHash(),
                           msg, false, {}});
        finish(Outcome::failure(ErrorCode::Conflict, msg));
      };
    }
    return [this, pend, n, p, c, finish] {
      (void)r_.abortPending(pend, c->actor, "abandoned on both nodes for a rollback to revision " + n);
      auto then = [finish, pend, p](Outcome out) {
        if (out.ok) {
          out.body["abandoned"] = pend;
        } else {
          out.message = "revision " + p + " (awaiting confirmation) was rolled back on both nodes, then: " + out.message;
        }
        finish(std::move(out));
      };
      if (auto refused = pairApply(std::move(*c), then)) then(*refused);
    };
  };
  if (!queuePeer(std::move(job))) return busy(id, "a pair operation with the peer is under way");
  return std::nullopt;
}

// ---- reload: the policy dir on both nodes, when it differs from the running revision -----------

void RequestHandlers::pairReload(const Actor& actor, std::function<void(const Outcome&)> done) {
  PairChange change;
  change.actor = actor;
  change.reload = true;
  PairDone finish = [done](Outcome out) {
    if (done) done(out);
  };
  if (auto refused = pairApply(std::move(change), finish)) {
    // The peer worker is busy with another pair operation: try again shortly (a reload, SIGHUP
    // above all, must not be lost).
    loop_.after(std::chrono::milliseconds(500), [this, actor, done] { reload(actor, done); });
  }
}

// ---- confirm: the other node first, then this one ---------------------------------------------

std::optional<nlohmann::json> RequestHandlers::pairConfirm(const Peer& peer, gateway::Request& req,
                                                           Responder& respond) {
  const int revision = r_.pendingRevision().value_or(0);
  auto job = [cfg = *pair_, revision, actor = actorOf(peer), id = req.id, respond,
              this]() -> std::function<void()> {
    auto c = peerCall(cfg, "peer-confirm", {{"revision", revision}}, kPeerConfirmTimeout);
    const bool ok = c && c->value("ok", false);
    std::string why = !c ? c.error().message : ok ? "" : peerMessage(*c);
    return [this, ok, why, cfg, revision, actor, id, respond] {
      if (!ok) {
        respond(gateway::frame(gateway::errorReply(
            id, ErrorCode::Conflict,
            "peer " + cfg.describe() + " did not confirm revision " + std::to_string(revision) + ": " + why +
                "; nothing was confirmed (both nodes roll back at their deadline unless a confirm reaches both)")));
        return;
      }
      auto out = r_.confirm(actor, revision);
      if (out.ok) out.body["peer"] = {{"node", cfg.peer}, {"confirmed", true}};
      respond(gateway::frame(reply(id, out)));
    };
  };
  return submitPeer(req.id, std::move(job));
}

// ---- the peer-* operations (the other node calling) -------------------------------------------

std::optional<nlohmann::json> RequestHandlers::peerOp(const Peer& peer, gateway::Request& req, Responder& respond) {
  const auto& id = req.id;
  if (!pair_) return gateway::errorReply(id, ErrorCode::Conflict, "this node has no HA pair configured");
  if (auto st = checkPeerHeader(req.body, peer); !st) {
    return gateway::errorReply(id, ErrorCode::BadRequest, st.error().message);
  }
  Actor actor = actorOf(peer);
  actor.who += " (HA peer)";
  switch (req.op) {
    case gateway::Op::PeerStatus: {
      auto body = pairStateJson(pairState());
      body["node"] = pair_->node;
      return gateway::okReply(id, std::move(body));
    }
    case gateway::Op::PeerPlan:
    case gateway::Op::PeerApply: {
      auto sources = sourcesArg(req);
      if (!sources) return gateway::errorReply(id, ErrorCode::BadRequest, sources.error().message);
      if (!*sources) return gateway::errorReply(id, ErrorCode::BadRequest, "a peer request carries the policy's sources");
      auto in = std::make_shared<PolicyInput>(std::move(**sources));
      in->origin = "pair apply from " + peer.certCn;
      if (req.op == gateway::Op::PeerPlan) {
        auto job = [prep = r_.preparer(), in, id, respond]() -> std::function<void()> {
          return answer(respond, reply(id, prep.plan(std::move(*in))));
        };
        return submit(peer, id, std::move(job));
      }
      auto rev = revisionArg(req);
      if (!rev) return gateway::errorReply(id, ErrorCode::BadRequest, rev.error().message);
      auto window = confirmArg(req, limits_.maxConfirmSeconds);
      if (!window || !*window) {
        return gateway::errorReply(id, ErrorCode::BadRequest,
                                   "peer-apply needs 'confirm' (1.." + std::to_string(limits_.maxConfirmSeconds) + " s)");
      }
      auto keep = keepEstablishedArg(req);
      if (!keep) return gateway::errorReply(id, ErrorCode::BadRequest, keep.error().message);
      // The same path as any apply: prepared on the policy worker, applied on the loop, then
      // what the change no longer allows is cut before the reply.
      auto job = [prep = r_.preparer(), in, id, actor, revision = *rev, w = **window, from = peer.certCn,
                  keepEstablished = *keep, respond, this]() -> std::function<void()> {
        auto prepared = std::make_shared<PreparedPolicy>(prep.prepare(std::move(*in)));
        return [this, prepared, id, actor, revision, w, from, keepEstablished, respond] {
          PairApply pa{revision, from};
          auto out = r_.apply(std::move(*prepared), actor, w, &pa);
          answerAfterRevocation(std::move(out), id, respond, actor, keepEstablished, {});
          heavyDone();
        };
      };
      return submit(peer, id, std::move(job));
    }
    case gateway::Op::PeerConfirm:
    case gateway::Op::PeerAbort: {
      auto rev = revisionArg(req);
      if (!rev) return gateway::errorReply(id, ErrorCode::BadRequest, rev.error().message);
      if (r_.pendingPairPeer() != peer.certCn || r_.pendingRevision() != *rev) {
        return gateway::errorReply(id, ErrorCode::Conflict,
                                   "revision " + std::to_string(*rev) + " of a pair apply with " + peer.certCn +
                                       " does not await confirmation here");
      }
      if (req.op == gateway::Op::PeerConfirm) return reply(id, r_.confirm(actor, *rev));
      return reply(id, r_.abortPending(*rev, actor, "the pair apply did not complete on " + peer.certCn));
    }
    default: break;
  }
  return gateway::errorReply(id, ErrorCode::BadRequest, "unsupported op");
}

}  // namespace bulwark::daemon
