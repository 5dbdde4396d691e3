"""The browser side of Web Push: register /sw.js, ask permission, subscribe with our VAPID key.

The script runs in the page (``rx.call_script``) and resolves to the subscription's JSON, or to
``{"error": ...}`` when the browser cannot or the person says no; the state handler that receives
it validates everything again on the server. The VAPID public key is read from the button's
``data-vapid`` attribute, so the compiled page needs no per-deployment value.
"""

from __future__ import annotations

SUBSCRIBE_JS = """
(async () => {
  try {
    if (!('serviceWorker' in navigator) || !('PushManager' in window) || !('Notification' in window)) {
      return {error: 'unsupported'};
    }
    const key = document.querySelector('[data-vapid]')?.dataset?.vapid || '';
    if (!key) return {error: 'not_configured'};
    const permission = await Notification.requestPermission();
    if (permission !== 'granted') return {error: 'denied'};
    const reg = await navigator.serviceWorker.register('/sw.js');
    await navigator.serviceWorker.ready;
    const raw = atob(key.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - key.length % 4) % 4));
    const applicationServerKey = Uint8Array.from(raw, c => c.charCodeAt(0));
    let sub = await reg.pushManager.getSubscription();
    if (!sub) sub = await reg.pushManager.subscribe({userVisibleOnly: true, applicationServerKey});
    return sub.toJSON();
  } catch (e) {
    return {error: 'failed', detail: String(e && e.message || e).slice(0, 200)};
  }
})()
"""

UNSUBSCRIBE_JS = """
(async () => {
  try {
    const reg = await navigator.serviceWorker.getRegistration('/sw.js');
    const sub = reg && await reg.pushManager.getSubscription();
    if (!sub) return {endpoint: ''};
    const endpoint = sub.endpoint;
    await sub.unsubscribe();
    return {endpoint};
  } catch (e) {
    return {error: 'failed'};
  }
})()
"""
