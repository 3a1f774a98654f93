# PowerShell completion for kodama, kpod and kwekash (Windows PowerShell 5.1 and PowerShell 7)
# Load it in this shell:      kodama completion powershell | Out-String | Invoke-Expression
# or for every new shell:     kodama completion powershell >> $PROFILE

$__kodamaCompleter = {
    param($WordToComplete, $CommandAst, $CursorPosition)

    # the words up to the cursor (never the line as one string: nothing typed is evaluated)
    $elements = @($CommandAst.CommandElements)
    $program = $elements[0].Extent.Text
    $words = @()
    for ($i = 1; $i -lt $elements.Count; $i++) {
        $e = $elements[$i]
        if ($e.Extent.StartOffset -ge $CursorPosition) { break }
        $text = $e.Extent.Text
        if ($e.Extent.EndOffset -gt $CursorPosition) {
            $text = $text.Substring(0, $CursorPosition - $e.Extent.StartOffset)
        }
        if ($e -is [System.Management.Automation.Language.StringConstantExpressionAst] -and
            $e.Extent.EndOffset -le $CursorPosition) {
            $text = $e.Value
        }
        $words += $text
    }

    # the word being completed is empty after a space: it must still reach kodama as an argument, which
    # Windows PowerShell (and PowerShell 7's Legacy argument passing) drop unless written as '""'
    $legacy = $PSVersionTable.PSVersion.Major -lt 7 -or $PSVersionTable.PSVersion -lt [version]'7.3' -or
        ((Get-Variable PSNativeCommandArgumentPassing -ErrorAction SilentlyContinue) -and
        $PSNativeCommandArgumentPassing -eq 'Legacy')
    if ($WordToComplete -eq '') { if ($legacy) { $words += '""' } else { $words += '' } }

    $out = @(& $program __complete @words 2>$null)
    if ($out.Count -eq 0) { return }
    $last = $out[$out.Count - 1]
    $directive = 0
    if ($last -match '^:(\d+)$') {
        $directive = [int]$Matches[1]
        $out = @($out | Select-Object -SkipLast 1)
    }
    if ($directive -band 1) { return '' }   # an error: offer nothing

    if ($directive -band 8) {
        # file names with these extensions, and directories
        $exts = @($out | ForEach-Object { ($_ -split "`t")[0] })
        Get-ChildItem -Path "$WordToComplete*" -ErrorAction SilentlyContinue |
            Where-Object { $_.PSIsContainer -or $exts -contains $_.Extension.TrimStart('.') } |
            ForEach-Object {
                $p = Resolve-Path -Relative $_.FullName
                [System.Management.Automation.CompletionResult]::new($p, $_.Name, 'ProviderItem', $p)
            }
        return
    }
    if ($directive -band 16) {
        Get-ChildItem -Path "$WordToComplete*" -Directory -ErrorAction SilentlyContinue | ForEach-Object {
            $p = Resolve-Path -Relative $_.FullName
            [System.Management.Automation.CompletionResult]::new($p, $_.Name, 'ProviderContainer', $p)
        }
        return
    }

    $results = @()
    foreach ($line in $out) {
        if ($line -eq '') { continue }
        $parts = $line -split "`t", 2
        $value = $parts[0]
        $desc = if ($parts.Count -gt 1 -and $parts[1] -ne '') { $parts[1] } else { $value }
        if (-not $value.StartsWith($WordToComplete, [System.StringComparison]::Ordinal)) { continue }
        $text = $value
        # a value PowerShell would split or expand is quoted
        if ($text -match '[\s''"`$(){}@;,|&<>#]') { $text = "'" + $text.Replace("'", "''") + "'" }
        $results += [System.Management.Automation.CompletionResult]::new($text, $value, 'ParameterValue', $desc)
    }
    if ($results.Count -eq 0 -and ($directive -band 4)) { return '' }   # no file names either
    $results
}

# `deno install` makes kodama.cmd shims; `deno compile` makes kodama.exe: register each spelling
foreach ($__kodamaName in @('kodama', 'kpod', 'kwekash', 'kubectl-kodama')) {
    foreach ($__kodamaExt in @('', '.exe', '.cmd')) {
        Register-ArgumentCompleter -Native -CommandName "$__kodamaName$__kodamaExt" -ScriptBlock $__kodamaCompleter
    }
}
