# bash completion for kodama, kpod and kwekash           -*- shell-script -*-
# Load it in this shell:      source <(kodama completion bash)
# or for every new shell:     kodama completion bash > ~/.local/share/bash-completion/completions/kodama
# Works on bash 3.2 (macOS's /bin/bash) too: no mapfile, no negative indexes; where compopt is missing
# (bash < 4) the no-space and filename hints are skipped.

__kodama_complete() {
    local cur prog i w n
    local -a words=()
    # bash splits words at COMP_WORDBREAKS (= and :); glue "--namespace" "=" "prod" back together
    for ((i = 1; i <= COMP_CWORD; i++)); do
        w="${COMP_WORDS[i]}"
        n=${#words[@]}
        if ((n > 0)) && { [[ "$w" == "=" || "$w" == ":" ]] || [[ "${words[n-1]}" == *[=:] && $i -gt 1 && "${COMP_WORDS[i-1]}" == [=:] ]]; }; then
            words[n-1]="${words[n-1]}$w"
        else
            words[n]="$w"
        fi
    done
    ((${#words[@]} == 0)) && words=("")
    cur="${words[${#words[@]}-1]}"
    prog="${COMP_WORDS[0]}"
    local out
    out=$("$prog" __completeNoDesc "${words[@]}" 2>/dev/null) || return 0
    local directive="${out##*:}"
    [[ "$directive" =~ ^[0-9]+$ ]] || directive=0
    out="${out%:*}"
    local -a cands=()
    while IFS= read -r w; do
        [[ -n "$w" ]] && cands[${#cands[@]}]="${w%%$'\t'*}"
    done <<< "$out"
    COMPREPLY=()
    if (((directive & 1) != 0)); then return 0; fi
    if (((directive & 8) != 0)); then
        local ext="${cands[*]}"
        ext="${ext// /|}"
        compopt -o filenames 2>/dev/null
        while IFS= read -r w; do COMPREPLY[${#COMPREPLY[@]}]="$w"; done < <(compgen -d -- "$cur"; compgen -f -X "!*.@($ext)" -- "$cur")
        return 0
    fi
    if (((directive & 16) != 0)); then
        compopt -o filenames 2>/dev/null
        while IFS= read -r w; do COMPREPLY[${#COMPREPLY[@]}]="$w"; done < <(compgen -d -- "$cur")
        return 0
    fi
    if ((${#cands[@]} == 0)); then
        (((directive & 4) == 0)) && compopt -o default 2>/dev/null
        return 0
    fi
    (((directive & 2) != 0)) && compopt -o nospace 2>/dev/null
    # bash replaces only what follows the last = or : of the word: offer that part
    local strip=""
    if [[ "$cur" == *[=:]* ]]; then strip="${cur%"${cur##*[=:]}"}"; fi
    for w in "${cands[@]}"; do
        [[ "$w" == "$cur"* ]] && COMPREPLY[${#COMPREPLY[@]}]="${w#"$strip"}"
    done
    return 0
}
complete -o bashdefault -F __kodama_complete kodama kpod kwekash kubectl-kodama
