# bash completion for bulwarkctl. Written from its verbs and flags (CLI11 generates none);
# tests/packaging/completions_test.py fails when `bulwarkctl --help` has a verb or a flag
# that is missing here.

_bulwarkctl_flags() {
  case "$1" in
    "") echo "--help --version --json --socket --connect --cert --key --ca --server-name --cert-password-file" ;;
    validate | show) echo "--werror" ;;
    fmt) echo "--check" ;;
    diff) echo "-p --policy --json --markdown --werror" ;;
    render | test | counters | confirm | status | reload | events) ;;
    why) echo "-p --policy --iif --libipsec" ;;
    plan) echo "--detailed-exitcode --direct --nft --only --local-only" ;;
    apply) echo "--direct --only --confirm --local-only --resync-peer --keep-established" ;;
    rollback) echo "--local-only" ;;
    history) echo "--limit" ;;
    pki) echo "--dir -p --policy" ;;
    "pki init") echo "--ca-name" ;;
    "pki issue") echo "--group --out --address --password-file" ;;
    "pki revoke" | "pki list" | "pki crl") ;;
    "pki gateway") echo "--local-id" ;;
    "vpn apply") echo "--vici --pki --ca --cert --key --crl --libipsec --watch" ;;
    "vpn plan") echo "--vici --pki --ca --cert --key --crl --libipsec --detailed-exitcode" ;;
    tunnels | "tunnels terminate") echo "--vici --direct" ;;
  esac
}

_bulwarkctl() {
  local cur prev words cword
  _init_completion || return

  local verbs="validate fmt show diff test render why plan apply counters pki vpn tunnels status confirm rollback history revision reload events"
  # Options that take a value: their next word is not a verb.
  local valued="--socket|--connect|--cert|--key|--ca|--server-name|--cert-password-file|-p|--policy|--iif|--only|--confirm|--limit|--dir|--ca-name|--group|--out|--address|--password-file|--local-id|--vici|--pki|--crl"

  local verb="" sub="" i
  for ((i = 1; i < cword; i++)); do
    case "${words[i]}" in
      --*=*) ;;
      -*) [[ "${words[i]}" == @($valued) ]] && ((i++)) ;;
      *)
        if [[ -z "$verb" ]]; then
          verb="${words[i]}"
        elif [[ -z "$sub" && "$verb" == @(pki|vpn|tunnels) ]]; then
          sub="${words[i]}"
        fi
        ;;
    esac
  done

  case "$prev" in
    --socket | --cert | --key | --ca | --cert-password-file | --password-file | --crl | -p | --policy)
      _filedir
      return
      ;;
    --dir | --out | --pki)
      _filedir -d
      return
      ;;
    --only)
      COMPREPLY=($(compgen -W "all firewall links vpn" -- "$cur"))
      return
      ;;
    --vici)
      COMPREPLY=($(compgen -W "unix:///var/run/charon.vici" -- "$cur"))
      return
      ;;
    --connect | --server-name | --iif | --confirm | --limit | --ca-name | --group | --local-id | --address)
      return
      ;;
  esac

  if [[ "$cur" == -* ]]; then
    local key="$verb"
    [[ -n "$sub" ]] && key="$verb $sub"
    COMPREPLY=($(compgen -W "$(_bulwarkctl_flags "$key") $(_bulwarkctl_flags "") --help" -- "$cur"))
    return
  fi
  if [[ -z "$verb" ]]; then
    COMPREPLY=($(compgen -W "$verbs" -- "$cur"))
    return
  fi
  case "$verb" in
    pki)
      [[ -z "$sub" ]] && COMPREPLY=($(compgen -W "init issue revoke list gateway crl" -- "$cur"))
      ;;
    vpn)
      if [[ -z "$sub" ]]; then
        COMPREPLY=($(compgen -W "apply plan" -- "$cur"))
      else
        _filedir
      fi
      ;;
    tunnels)
      [[ -z "$sub" ]] && COMPREPLY=($(compgen -W "terminate" -- "$cur"))
      ;;
    validate | fmt | show | diff | test | render | plan | apply | counters)
      _filedir
      ;;
  esac
}
complete -F _bulwarkctl bulwarkctl
