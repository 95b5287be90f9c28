import{C as e,S as t,_ as n,a as r,b as i,c as a,d as o,f as s,g as c,h as l,i as u,l as d,m as f,n as p,o as m,p as h,r as g,s as _,t as v,u as y,v as b,w as x,x as S,y as C}from"./pages-Dz8H2YEI.js";var w=[`read`,`write`,`webhook`,`admin`],T={read:`read the project, its keys’ metadata, usage and events, and list its tools`,write:`change the project and call its tools`,webhook:`manage its webhooks and integrations`,admin:`do everything, including creating and revoking API keys`};function E(){let e=location.hash.indexOf(`?`);return e<0?``:location.hash.slice(e+1)}function D(e){try{let t=new URL(e);return t.host||`${t.protocol}…`}catch{return e}}function O({client:t,me:n}){let r=E(),a=c(()=>t.integrations.describeConsent(r),[t,r]),[s,l]=S(),[u,d]=S(),[f,p]=S(!1),m=async e=>{p(!0),d(void 0);try{let n=a.data?.permissions??[],i=s??n,o=await t.integrations.decideConsent(r,e?{approve:e,permissions:i}:{approve:e});location.assign(o.redirectTo)}catch(e){d(e),p(!1)}};if(a.loading)return e`<section class="consent"><p class="muted" aria-live="polite">Checking the request…</p></section>`;if(a.error){let t=a.error instanceof i?e`<p>Approving needs a key with <strong>admin</strong> on the project this application asks for. Sign out and sign in with such a key.</p>`:null;return e`<section class="consent"><h1>This request cannot be approved</h1>${t}<${o} error=${a.error} /></section>`}let h=a.data;if(!h)return null;let g=s??h.permissions,_=e=>l(g.includes(e)?g.filter(t=>t!==e):[...g,e]);return e`<section class="consent card" aria-labelledby="consent-title">
    <h1 id="consent-title">Connect ${h.integration.name}?</h1>
    <p><strong>${h.integration.name}</strong> wants to connect to the project <strong>${h.projectName}</strong> <code>${h.projectId}</code>
      ${h.integration.dynamic?e` <span class="warning">(it registered itself: check you started this)</span>`:null}.</p>
    <fieldset><legend>It asks to</legend>
      ${h.permissions.map(t=>e`<label key=${t} class="check"><input type="checkbox" name=${`grant-${t}`} checked=${g.includes(t)} onChange=${()=>_(t)} />
        <span><strong>${t}</strong>: ${T[t]??t}</span></label>`)}
      <p class="muted">Untick what it should not have; it gets only what stays ticked.</p>
    </fieldset>
    <p>You will be sent back to <strong>${D(h.redirectUri)}</strong>. Its tokens last an hour and renew until you disconnect it
      (Integrations in the project).${h.resource?e` They work only at <code>${h.resource}</code>.`:null}</p>
    <p class="muted">Approving as ${n?`${n.prefix}…`:`this key`}.</p>
    <${o} error=${u} />
    <div class="row">
      <button onClick=${()=>void m(!0)} disabled=${f||g.length===0}>Allow</button>
      <button class="secondary" onClick=${()=>void m(!1)} disabled=${f}>Deny</button>
    </div>
  </section>`}function k({client:t,projectId:r,i,allowed:a,onChanged:l,onSecret:u}){let[f,p]=S(!1),[m,h]=S(),g=c(()=>f?t.integrations.connections(r,i.id,{perPage:100}):Promise.resolve(void 0),[t,r,i.id,f]),_=(g.data?.data??[]).filter(e=>e.revokedAt===null);return e`<tr>
    <td><strong>${i.name}</strong> ${i.dynamic?e`<span class="muted">(registered itself)</span>`:null}<br /><code>${i.clientId}</code>
      <div class="muted">${i.clientType} · ${i.redirectUris.join(`, `)}</div></td>
    <td>${i.permissions.join(`, `)}</td>
    <td>${n(i.createdAt)}</td>
    <td><div class="row">
      <button class="secondary" aria-expanded=${f} onClick=${()=>p(!f)}>${f?`Hide connections`:`Connections`}</button>
      ${a&&i.clientType===`confidential`?e`<button class="secondary" onClick=${()=>void d(h,l)(async()=>{u((await t.integrations.rotateSecret(r,i.id)).clientSecret??``)})}>Rotate secret</button>`:null}
      ${a?e`<button class="danger" onClick=${()=>{confirm(`Delete ${i.name}? Every connection is revoked and its tokens stop working at once.`)&&d(h,l)(()=>t.integrations.delete(r,i.id))}}>Delete</button>`:null}
    </div>
    <${o} error=${m} />
    ${f?e`<${s} loading=${g.loading} error=${g.error} empty=${_.length===0} what="connections">
          <ul class="plain">${_.map(o=>e`<li key=${o.id}>
            <code>${o.id}</code> · ${o.scope} · approved by <code>${o.approvedBy}</code> on ${n(o.createdAt)} · last used ${n(o.lastUsedAt)}
            ${a?e` <button class="danger" onClick=${()=>void d(h,g.reload)(()=>t.integrations.disconnect(r,i.id,o.id))}>Disconnect</button>`:null}
          </li>`)}</ul>
        </${s}>`:null}</td>
  </tr>`}function A({client:t,me:n,projectId:r}){let i=c(()=>t.integrations.list(r,{perPage:100}),[t,r]),a=c(()=>t.integrations.registration(r),[t,r]),[l,u]=S(),[f,p]=S(),g=y(n,`webhook`),_=e=>{e.preventDefault();let n=e.currentTarget,a=e=>n.elements.namedItem(e).value,o=w.filter(e=>n.elements.namedItem(`perm-${e}`).checked),s=a(`redirect_uris`).split(`
`).map(e=>e.trim()).filter(Boolean);d(p,i.reload)(async()=>{let e=await t.integrations.create(r,{name:a(`name`),redirectUris:s,permissions:o,clientType:a(`client_type`)});e.clientSecret&&u(e.clientSecret),n.reset()})},v=i.data?.data??[],b=`${location.origin}/mcp/${r}`;return e`<section>
    <h1>Integrations <span class="muted"><code>${r}</code></span></h1>
    <${m} projectId=${r} active="integrations" />
    <p>MCP clients connect with OAuth at <code>${b}</code>; each connection needs an admin’s consent.</p>
    ${l?e`<${h} what="the client secret" secret=${l} onDone=${()=>u(void 0)} />`:null}
    ${g?e`<details><summary>Create an integration</summary><form onSubmit=${_} aria-label="Create an integration">
          <div class="row">
            <label><span>Name</span><input name="name" required maxlength="100" /></label>
            <label><span>Client type</span><select name="client_type"><option value="confidential">confidential (has a secret)</option><option value="public">public (PKCE only)</option></select></label>
          </div>
          <label><span>Redirect URIs, one per line (loopback http matches any port)</span><textarea name="redirect_uris" required rows="3" class="wide"></textarea></label>
          <fieldset><legend>It may ask for</legend>${w.map(t=>e`<label key=${t} class="check"><input type="checkbox" name=${`perm-${t}`} checked=${t===`read`} /> ${t}</label>`)}</fieldset>
          <button type="submit">Create integration</button>
        </form></details>`:e`<p class="muted">Managing integrations needs the webhook permission.</p>`}
    ${a.data?e`<p>Dynamic client registration (RFC 7591): <strong>${a.data.enabled?`on`:`off`}</strong>${a.data.enabled?` (at most ${a.data.permissions.join(`, `)})`:``}.
          ${y(n,`admin`)?e` <button class="secondary" onClick=${()=>void d(p,a.reload)(()=>t.integrations.setRegistration(r,{enabled:!a.data?.enabled}))}>
                ${a.data.enabled?`Turn off`:`Turn on`}</button>`:null}</p>`:null}
    <${o} error=${f} />
    <${s} loading=${i.loading} error=${i.error} empty=${v.length===0} what="integrations">
      <div class="scroll"><table>
        <thead><tr><th scope="col">Integration</th><th scope="col">May ask for</th><th scope="col">Created</th><th scope="col">Actions</th></tr></thead>
        <tbody>${v.map(n=>e`<${k} key=${n.id} client=${t} projectId=${r} i=${n} allowed=${g} onChanged=${i.reload} onSecret=${u} />`)}</tbody>
      </table></div>
    </${s}>
  </section>`}function j(){let[e,n]=S(location.hash||`#/`);return t(()=>{let e=()=>n(location.hash||`#/`);return addEventListener(`hashchange`,e),()=>removeEventListener(`hashchange`,e)},[]),e}function M({onToken:t,notice:n}){let[r,i]=S(),[a,s]=S(!1);return e`<main class="signin">
    <h1>Sign in to Tengine</h1>
    ${n?e`<p class="warning" role="status">${n}</p>`:null}
    <form onSubmit=${async e=>{e.preventDefault();let n=e.currentTarget.elements.namedItem(`key`);s(!0),i(void 0);try{let e=await new b({apiKey:n.value.trim(),baseUrl:location.origin,maxRetries:0}).sessions.signIn();n.value=``,t(e.token)}catch(e){i(e)}finally{s(!1)}}}>
      <label><span>API key (printed in the server's first-start banner)</span>
        <input name="key" type="password" autocomplete="off" required class="wide" /></label>
      <button type="submit" disabled=${a}>Sign in</button>
    </form>
    <${o} error=${r} />
  </main>`}function N(){let[n,i]=S(sessionStorage.getItem(f)),[o,s]=S(),[c,d]=S(),m=j(),h=n?l(n):void 0,y=e=>{sessionStorage.removeItem(f),i(null),s(void 0),d(e)};if(t(()=>{h&&h.me().then(s,e=>{e instanceof C&&y(`Your session ended (signed out, expired, or its key was revoked). Sign in again.`)})},[n]),t(()=>{let e=e=>{e.reason instanceof C&&y(`Your session ended. Sign in again.`)};return addEventListener(`unhandledrejection`,e),()=>removeEventListener(`unhandledrejection`,e)},[]),!n||!h)return e`<${M} notice=${c} onToken=${e=>{sessionStorage.setItem(f,e),d(void 0),i(e)}} />`;let b=m.replace(/^#\/?/,``).split(`/`),x;return x=b[0]===`projects`&&b[1]&&b[2]===`keys`?e`<${p} client=${h} me=${o} projectId=${b[1]} />`:b[0]===`projects`&&b[1]&&b[2]===`usage`?e`<${g} client=${h} projectId=${b[1]} />`:b[0]===`projects`&&b[1]&&b[2]===`webhooks`?e`<${a} client=${h} me=${o} projectId=${b[1]} />`:b[0]===`projects`&&b[1]&&b[2]===`events`?e`<${r} client=${h} projectId=${b[1]} />`:b[0]===`projects`&&b[1]&&b[2]===`integrations`?e`<${A} client=${h} me=${o} projectId=${b[1]} />`:b[0]===`oauth`&&b[1]?.startsWith(`consent`)?e`<${O} client=${h} me=${o} />`:b[0]===`projects`&&b[1]&&b[2]===`tools`?e`<${_} client=${h} me=${o} projectId=${b[1]} />`:b[0]===`projects`?e`<${u} client=${h} me=${o} />`:e`<${v} client=${h} me=${o} />`,e`<div>
    <header class="bar">
      <strong>Tengine</strong>
      <nav aria-label="Main"><a href="#/">Overview</a><a href="#/projects">Projects</a></nav>
      <span class="who">${o?`${o.prefix}… · ${o.scope===`account`?`account`:o.projectId} · ${o.permissions.join(`, `)}`:``}</span>
      <button class="secondary" onClick=${async()=>{try{await h.sessions.signOut()}catch{}y(`Signed out.`)}}>Sign out</button>
    </header>
    <main>${x}</main>
  </div>`}var P=document.getElementById(`app`);P&&x(e`<${N} />`,P);