# shellcheck shell=sh
# The qwen preset's wrap (../adapter.ts): `sh -c WRAP qwen ARGS…`. Qwen Code 0.24 keeps its user settings
# in ~/.qwen/settings.json (QWEN_HOME when set): its usage statistics, telemetry, update checks and its
# background memory extraction (a second model request after each answer, which writes ~/.qwen/memories) off.
# Only keys the user has not set are written; a settings file that is not plain JSON is left alone. Then the
# CLI. busybox sh and dash run it.
node -e 'const fs=require("fs"),p=require("path"),os=require("os");const d=process.env.QWEN_HOME||p.join(os.homedir(),".qwen"),f=p.join(d,"settings.json");let s={};try{s=JSON.parse(fs.readFileSync(f,"utf8"))}catch(e){if(e.code!=="ENOENT")process.exit(0)}const o=JSON.stringify(s);const set=(k,n,v)=>{s[k]??={};s[k][n]??=v};set("privacy","usageStatisticsEnabled",false);set("telemetry","enabled",false);set("general","enableAutoUpdate",false);set("memory","enableManagedAutoMemory",false);if(JSON.stringify(s)!==o){fs.mkdirSync(d,{recursive:true});fs.writeFileSync(f,JSON.stringify(s,null,2)+"\n")}' 2>/dev/null || true
exec "$0" "$@"
