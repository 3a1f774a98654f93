#compdef kodama kpod kwekash kubectl-kodama
# zsh completion for kodama, kpod and kwekash
# Load it in this shell:      source <(kodama completion zsh)
# or for every new shell:     kodama completion zsh > "${fpath[1]}/_kodama"   (then compinit)

_kodama() {
    local -a lines cands
    local out directive line value desc
    out=$("${words[1]}" __complete "${(@)words[2,CURRENT]}" 2>/dev/null) || return 1
    lines=("${(@f)out}")
    directive="${lines[-1]#:}"
    [[ "$directive" == <-> ]] || directive=0
    lines=("${(@)lines[1,-2]}")
    (( directive & 1 )) && return 1
    if (( directive & 8 )); then
        local ext="${(j:|:)lines}"
        _files -g "*.($ext)"
        return
    fi
    if (( directive & 16 )); then
        _files -/
        return
    fi
    for line in "${lines[@]}"; do
        [[ -z "$line" ]] && continue
        value="${line%%$'\t'*}"
        desc=""
        [[ "$line" == *$'\t'* ]] && desc="${line#*$'\t'}"
        value="${value//:/\\:}"
        if [[ -n "$desc" ]]; then cands+=("$value:$desc"); else cands+=("$value"); fi
    done
    if (( ${#cands} == 0 )); then
        (( directive & 4 )) || _files
        return
    fi
    if (( directive & 2 )); then
        _describe -t kodama 'kodama' cands -S ''
    else
        _describe -t kodama 'kodama' cands
    fi
}

if [[ "${funcstack[1]}" == _kodama ]]; then
    _kodama "$@"
else
    compdef _kodama kodama kpod kwekash kubectl-kodama
fi
