/*
 * oO push service worker: shows the one pushed tip and opens /tip when it is clicked.
 *
 * The payload is the JSON sent by oo/integrations/webpush.py: {title, body, url, tag}.
 * `tag` equals the RFC 8030 Topic, so a newer tip replaces the one already on screen
 * instead of stacking, and `renotify: false` keeps the replacement silent.
 */

const TIP_PATH = "/tip";

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

self.addEventListener("push", (event) => {
  const data = readPayload(event);
  const options = {
    body: typeof data.body === "string" ? data.body : "",
    icon: "/icon-192.png",
    renotify: false,
    data: { url: targetUrl(data.url) },
  };
  if (typeof data.tag === "string" && data.tag) {
    options.tag = data.tag;
  }
  const title = typeof data.title === "string" && data.title ? data.title : "oO";
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = targetUrl(event.notification.data && event.notification.data.url);
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      for (const client of windows) {
        const path = new URL(client.url).pathname;
        if (path === new URL(url, self.location.origin).pathname && "focus" in client) {
          return client.focus();
        }
      }
      return self.clients.openWindow(url);
    })(),
  );
});
