import{a as e,c as t,d as n,f as r,i,l as a,n as o,o as s,p as c,r as l,s as u,t as d,u as f}from"./pages-DtceJIR9.js";function p(){let[e,t]=f(location.hash||`#/`);return n(()=>{let e=()=>t(location.hash||`#/`);return addEventListener(`hashchange`,e),()=>removeEventListener(`hashchange`,e)},[]),e}function m({onToken:n,notice:i}){let[a,o]=f(),[s,c]=f(!1);return r`<main class="signin">
    <h1>Sign in to Tengine</h1>
    ${i?r`<p class="warning" role="status">${i}</p>`:null}
    <form onSubmit=${async e=>{e.preventDefault();let r=e.currentTarget.elements.namedItem(`key`);c(!0),o(void 0);try{let e=await new t({apiKey:r.value.trim(),baseUrl:location.origin,maxRetries:0}).sessions.signIn();r.value=``,n(e.token)}catch(e){o(e)}finally{c(!1)}}}>
      <label><span>API key (printed in the server's first-start banner)</span>
        <input name="key" type="password" autocomplete="off" required class="wide" /></label>
      <button type="submit" disabled=${s}>Sign in</button>
    </form>
    <${e} error=${a} />
  </main>`}function h(){let[e,t]=f(sessionStorage.getItem(s)),[c,h]=f(),[g,_]=f(),v=p(),y=e?u(e):void 0,b=e=>{sessionStorage.removeItem(s),t(null),h(void 0),_(e)};if(n(()=>{y&&y.me().then(h,e=>{e instanceof a&&b(`Your session ended (signed out, expired, or its key was revoked). Sign in again.`)})},[e]),n(()=>{let e=e=>{e.reason instanceof a&&b(`Your session ended. Sign in again.`)};return addEventListener(`unhandledrejection`,e),()=>removeEventListener(`unhandledrejection`,e)},[]),!e||!y)return r`<${m} notice=${g} onToken=${e=>{sessionStorage.setItem(s,e),_(void 0),t(e)}} />`;let x=v.replace(/^#\/?/,``).split(`/`),S;return S=x[0]===`projects`&&x[1]&&x[2]===`keys`?r`<${o} client=${y} me=${c} projectId=${x[1]} />`:x[0]===`projects`&&x[1]&&x[2]===`usage`?r`<${l} client=${y} projectId=${x[1]} />`:x[0]===`projects`?r`<${i} client=${y} me=${c} />`:r`<${d} client=${y} me=${c} />`,r`<div>
    <header class="bar">
      <strong>Tengine</strong>
      <nav aria-label="Main"><a href="#/">Overview</a><a href="#/projects">Projects</a></nav>
      <span class="who">${c?`${c.prefix}… · ${c.scope===`account`?`account`:c.projectId} · ${c.permissions.join(`, `)}`:``}</span>
      <button class="secondary" onClick=${async()=>{try{await y.sessions.signOut()}catch{}b(`Signed out.`)}}>Sign out</button>
    </header>
    <main>${S}</main>
  </div>`}var g=document.getElementById(`app`);g&&c(r`<${h} />`,g);