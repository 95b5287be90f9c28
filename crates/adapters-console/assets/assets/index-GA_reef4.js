import{a as e,c as t,d as n,f as r,g as i,h as a,i as o,l as s,m as c,n as l,o as u,p as d,r as f,s as p,t as m,u as h}from"./pages-B24skZBq.js";function g(){let[e,t]=d(location.hash||`#/`);return c(()=>{let e=()=>t(location.hash||`#/`);return addEventListener(`hashchange`,e),()=>removeEventListener(`hashchange`,e)},[]),e}function _({onToken:e,notice:r}){let[i,o]=d(),[s,c]=d(!1);return a`<main class="signin">
    <h1>Sign in to Tengine</h1>
    ${r?a`<p class="warning" role="status">${r}</p>`:null}
    <form onSubmit=${async t=>{t.preventDefault();let r=t.currentTarget.elements.namedItem(`key`);c(!0),o(void 0);try{let t=await new n({apiKey:r.value.trim(),baseUrl:location.origin,maxRetries:0}).sessions.signIn();r.value=``,e(t.token)}catch(e){o(e)}finally{c(!1)}}}>
      <label><span>API key (printed in the server's first-start banner)</span>
        <input name="key" type="password" autocomplete="off" required class="wide" /></label>
      <button type="submit" disabled=${s}>Sign in</button>
    </form>
    <${t} error=${i} />
  </main>`}function v(){let[t,n]=d(sessionStorage.getItem(s)),[i,v]=d(),[y,b]=d(),x=g(),S=t?h(t):void 0,C=e=>{sessionStorage.removeItem(s),n(null),v(void 0),b(e)};if(c(()=>{S&&S.me().then(v,e=>{e instanceof r&&C(`Your session ended (signed out, expired, or its key was revoked). Sign in again.`)})},[t]),c(()=>{let e=e=>{e.reason instanceof r&&C(`Your session ended. Sign in again.`)};return addEventListener(`unhandledrejection`,e),()=>removeEventListener(`unhandledrejection`,e)},[]),!t||!S)return a`<${_} notice=${y} onToken=${e=>{sessionStorage.setItem(s,e),b(void 0),n(e)}} />`;let w=x.replace(/^#\/?/,``).split(`/`),T;return T=w[0]===`projects`&&w[1]&&w[2]===`keys`?a`<${l} client=${S} me=${i} projectId=${w[1]} />`:w[0]===`projects`&&w[1]&&w[2]===`usage`?a`<${f} client=${S} projectId=${w[1]} />`:w[0]===`projects`&&w[1]&&w[2]===`webhooks`?a`<${p} client=${S} me=${i} projectId=${w[1]} />`:w[0]===`projects`&&w[1]&&w[2]===`events`?a`<${e} client=${S} projectId=${w[1]} />`:w[0]===`projects`&&w[1]&&w[2]===`tools`?a`<${u} client=${S} me=${i} projectId=${w[1]} />`:w[0]===`projects`?a`<${o} client=${S} me=${i} />`:a`<${m} client=${S} me=${i} />`,a`<div>
    <header class="bar">
      <strong>Tengine</strong>
      <nav aria-label="Main"><a href="#/">Overview</a><a href="#/projects">Projects</a></nav>
      <span class="who">${i?`${i.prefix}… · ${i.scope===`account`?`account`:i.projectId} · ${i.permissions.join(`, `)}`:``}</span>
      <button class="secondary" onClick=${async()=>{try{await S.sessions.signOut()}catch{}C(`Signed out.`)}}>Sign out</button>
    </header>
    <main>${T}</main>
  </div>`}var y=document.getElementById(`app`);y&&i(a`<${v} />`,y);