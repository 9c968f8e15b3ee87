/* The wall's clientside callbacks (dashboards/pages/wall.py): the clock in the console's time zone
   and the staleness check. A wall whose refreshes stop arriving (server gone, callback failing)
   turns its "last refresh" red instead of showing old states as if current. */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
    wall: {
        loaded: Date.now(),
        seen: function (refreshed) {
            if (refreshed === null || refreshed === undefined) {
                return window.dash_clientside.no_update;
            }
            return Date.now();
        },
        tick: function (n, seen, settings) {
            const tz = (settings && settings.tz) || "Asia/Tokyo";
            const staleMs = (settings && settings.stale_ms) || 30000;
            const clock = new Intl.DateTimeFormat("en-GB", {
                timeZone: tz, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false
            }).format(new Date());
            const since = seen ? seen : window.dash_clientside.wall.loaded;
            const stale = Date.now() - since > staleMs;
            return [clock, stale ? "wall-freshness stale" : (seen ? "wall-freshness fresh" : "wall-freshness")];
        }
    }
});
