/*
 * oO push service worker: shows the one pushed tip with Done and Snooze, and acts on them.
 *
 * The payload is the JSON sent by oo/services/push_delivery.py:
 *   {title, body, url: "/tip?tip=<id>", tag, tip_id, ref, actions: [{action, title}]}
 * `tag` equals the RFC 8030 Topic, so a newer tip replaces the one already on screen instead of
 * stacking, and `renotify: false` keeps the replacement silent.
 *
 * - A tap on the body opens that tip (/tip?tip=<id>), in an open oO window if there is one.
 * - Done / Snooze post the reaction to /api/v1/push/react with the session cookie and a fixed
 *   idempotency key per tip and action, without opening a tab. If it cannot be recorded (offline
 *   after retries, signed out), the tip is opened instead so the reaction is not lost.
 *
 * The logic lives in `self.ooPush` so that tests can drive the real handlers directly.
 */

const TIP_PATH = "/tip";
const REACT_PATH = "/api/v1/push/react";
const ACTIONS = [
  { action: "done", title: "Done" },
  { action: "snooze", title: "Snooze" },
];
const REF_RE = /^[0-9a-f]{32}[A-Za-z0-9_-]{16}$/;
const RETRIES = 3;

self.addEventListener("install", () => {
  self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

function readPayload(event) {
  if (!event.data) {
    return {};
  }
  try {
    const data = event.data.json();
    return data && typeof data === "object" ? data : {};
  } catch (error) {
    return { body: event.data.text() };
  }
}

// Only same-origin relative paths: a pushed URL must never send the user elsewhere.
function targetUrl(url) {
  if (typeof url === "string" && url.startsWith("/") && !url.startsWith("//") && !url.includes("\\")) {
    const resolved = new URL(url, self.location.origin);
    if (resolved.origin === self.location.origin) {
      return resolved.pathname + resolved.search + resolved.hash;
    }
  }
  return TIP_PATH;
}

function notificationOptions(data) {
  const ref = typeof data.ref === "string" && REF_RE.test(data.ref) ? data.ref : "";
  const options = {
    body: typeof data.body === "string" ? data.body : "",
    icon: "/icon-192.png",
    renotify: false,
    data: { url: targetUrl(data.url), ref },
    // Actions only when the tip can be named: a reaction always needs the server's reference.
    actions: ref ? ACTIONS : [],
  };
  if (typeof data.tag === "string" && data.tag) {
    options.tag = data.tag;
  }
  return options;
}

function showTip(data) {
  const title = typeof data.title === "string" && data.title ? data.title : "oO";
  return self.registration.showNotification(title, notificationOptions(data));
}

async function openTip(url) {
  const target = new URL(targetUrl(url), self.location.origin);
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  for (const client of windows) {
    if (new URL(client.url).origin === self.location.origin && "focus" in client) {
      const focused = await client.focus();
      if ("navigate" in client) {
        try {
          return await client.navigate(target.href);
        } catch (error) {
          // An uncontrolled window cannot be navigated from here: open a new one below.
        }
      } else {
        return focused;
      }
    }
  }
  return self.clients.openWindow(target.pathname + target.search);
}

// Resolves to "recorded", "signed_out" or "failed"; never rejects.
async function postReaction(ref, reaction) {
  const body = JSON.stringify({
    ref,
    reaction,
    idempotency_key: `push-${ref.slice(0, 32)}-${reaction}`,
  });
  for (let attempt = 0; attempt < RETRIES; attempt += 1) {
    try {
      const response = await fetch(REACT_PATH, {
        method: "POST",
        credentials: "same-origin",
        headers: { "content-type": "application/json" },
        body,
      });
      if (response.ok) return "recorded";
      if (response.status === 401) return "signed_out";
      if (response.status < 500 && response.status !== 429) return "failed";
    } catch (error) {
      // offline: try again
    }
    await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
  }
  return "failed";
}

async function onClick(notification, action) {
  notification.close();
  const data = notification.data || {};
  if ((action === "done" || action === "snooze") && data.ref) {
    const outcome = await postReaction(data.ref, action);
    if (outcome === "recorded") return outcome;
    await openTip(data.url);
    return outcome;
  }
  await openTip(data.url);
  return "opened";
}

self.ooPush = { readPayload, targetUrl, notificationOptions, showTip, openTip, postReaction, onClick };

self.addEventListener("push", (event) => {
  event.waitUntil(showTip(readPayload(event)));
});

self.addEventListener("notificationclick", (event) => {
  event.waitUntil(onClick(event.notification, event.action));
});
