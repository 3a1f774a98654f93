# shellcheck shell=sh
# The pi preset's wrap (../adapter.ts): `sh -c WRAP pi ARGS…`. pi 0.73 takes no ANTHROPIC_BASE_URL from
# its environment: the Anthropic provider's base URL is its agent dir's models.json (`providers.anthropic
# .baseUrl`). It is set to ANTHROPIC_BASE_URL (the gateway, a stand-in, the user's own) when that is set, and
# taken out when it is not (no stale endpoint keeps the key); other keys of the file are kept. A file that is
# not plain JSON is left alone. Then the CLI. busybox sh and dash run it.
node -e 'const fs=require("fs"),p=require("path"),os=require("os");const d=process.env.PI_CODING_AGENT_DIR||p.join(os.homedir(),".pi","agent"),f=p.join(d,"models.json");let s={};try{s=JSON.parse(fs.readFileSync(f,"utf8"))}catch(e){if(e.code!=="ENOENT")process.exit(0)}if(!s||typeof s!=="object"||Array.isArray(s))process.exit(0);const o=JSON.stringify(s);const b=process.env.ANTHROPIC_BASE_URL;if(b){s.providers??={};s.providers.anthropic??={};s.providers.anthropic.baseUrl=b}else if(s.providers&&s.providers.anthropic)delete s.providers.anthropic.baseUrl;if(JSON.stringify(s)!==o){fs.mkdirSync(d,{recursive:true});fs.writeFileSync(f,JSON.stringify(s,null,2)+"\n")}' 2>/dev/null || true
exec "$0" "$@"
