(() => {
  const live = document.getElementById("live");
  const slug = document.body.dataset.slug;
  let busy = false, again = false;
  // the first page in view and where it is, so a swap can put it back in the same place
  function place() {
    for (const page of live.querySelectorAll(".page")) {
      const top = page.getBoundingClientRect().top;
      if (page.getBoundingClientRect().bottom > 0) return [page.id, top];
    }
    return null;
  }
  async function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    try {
      const response = await fetch(location.pathname + "?fragment=1", {cache: "no-store"});
      if (response.status === 404) {
        live.innerHTML = '<div class="sheet"><p class="meta">This briefing is no longer in ' +
          'the preview: was its file renamed or removed? <a href="/">All briefings</a></p></div>';
        return;
      }
      if (!response.ok) return;
      const template = document.createElement("template");
      template.innerHTML = await response.text();
      // load the new page images before swapping, so nothing collapses and the scroll stays
      await Promise.all([...template.content.querySelectorAll("img")].map((img) => {
        const loading = new Image();
        loading.src = img.getAttribute("src");
        return loading.decode().catch(() => null);
      }));
      const kept = place();
      live.replaceChildren(...template.content.childNodes);
      const same = kept && document.getElementById(kept[0]);
      if (same) window.scrollBy(0, same.getBoundingClientRect().top - kept[1]);
      window.previewSwappedAt = Date.now();
    } catch (error) {
      document.body.classList.add("offline");
    } finally {
      busy = false;
      if (again) { again = false; refresh(); }
    }
  }
  const events = new EventSource("/events" + (slug ? "?slug=" + encodeURIComponent(slug) : ""));
  events.onopen = () => { document.body.classList.remove("offline"); refresh(); };
  events.onerror = () => document.body.classList.add("offline");
  events.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (slug && event.slug !== slug) return;
    document.body.classList.toggle("building", event.state === "building");
    if (event.state !== "building") refresh();
  };
})();
