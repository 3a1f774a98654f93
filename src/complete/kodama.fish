# fish completion for kodama, kpod and kwekash
# Load it in this shell:      kodama completion fish | source
# or for every new shell:     kodama completion fish > ~/.config/fish/completions/kodama.fish

function __kodama_complete
    set -l args (commandline -opc) (commandline -ct)
    set -l out ($args[1] __complete $args[2..-1] 2>/dev/null)
    or return
    set -l directive (string replace -r '^:' '' -- $out[-1])
    string match -qr '^[0-9]+$' -- $directive; or set directive 0
    set -e out[-1]
    if test (math "bitand($directive, 1)") -ne 0
        return
    end
    if test (math "bitand($directive, 8)") -ne 0
        for ext in $out
            __fish_complete_suffix .$ext
        end
        return
    end
    if test (math "bitand($directive, 16)") -ne 0
        __fish_complete_directories (commandline -ct)
        return
    end
    if test (count $out) -eq 0
        if test (math "bitand($directive, 4)") -eq 0
            __fish_complete_path (commandline -ct)
        end
        return
    end
    printf '%s\n' $out
end

for c in kodama kpod kwekash kubectl-kodama
    complete -c $c -e
    complete -c $c -f -a '(__kodama_complete)'
end
