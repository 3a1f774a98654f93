# shellcheck shell=sh
# The gemini preset's wrap (../adapter.ts): `sh -c WRAP gemini ARGS…`. The Gemini CLI 0.61 takes
# GOOGLE_GEMINI_BASE_URL as its own "gateway" auth type, which its headless mode then refuses ("Invalid auth
# method selected."): a chosen auth type (the API key's) in ~/.gemini/settings.json lets it use the base URL.
# Also its usage statistics off. Only keys the user has not set are written; a settings file that is not
# plain JSON is left alone. Then the CLI. busybox sh and dash run it.
node -e 'const fs=require("fs"),p=require("path"),os=require("os");const d=p.join(process.env.GEMINI_CLI_HOME||os.homedir(),".gemini"),f=p.join(d,"settings.json");let s={};try{s=JSON.parse(fs.readFileSync(f,"utf8"))}catch(e){if(e.code!=="ENOENT")process.exit(0)}const o=JSON.stringify(s);s.privacy??={};s.privacy.usageStatisticsEnabled??=false;if(process.env.GOOGLE_GEMINI_BASE_URL){s.security??={};s.security.auth??={};s.security.auth.selectedType??="gemini-api-key"}if(JSON.stringify(s)!==o){fs.mkdirSync(d,{recursive:true});fs.writeFileSync(f,JSON.stringify(s,null,2)+"\n")}' 2>/dev/null || true
exec "$0" "$@"
