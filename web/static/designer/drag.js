// Dragging with pointer events (a mouse, a finger or an automated
// browser's mouse all send them), not HTML5 drag events. A press on a
// source that moves a few pixels starts a drag: a ghost follows the
// pointer, a line in the canvas shows where the drop lands, and releasing
// over the canvas calls onDrop with the source, the position and the
// element the drop lands just before. A press
// that does not move is a click, left to the page.

const THRESHOLD = 4;

// enableDrag makes the elements matching selector inside root draggable
// onto canvas, whose children matching itemSelector are the positions.
export function enableDrag({ root, selector, canvas, itemSelector, onDrop, handle }) {
  // the click a browser may send after a drag's release is not a click;
  // the next press starts afresh whether it came or not
  let dragged = false;
  root.addEventListener("click", (ev) => {
    if (!dragged || ev.detail === 0) return; // a key's click is always one
    dragged = false;
    ev.stopPropagation();
    ev.preventDefault();
  }, { capture: true });

  root.addEventListener("pointerdown", (ev) => {
    dragged = false;
    if (ev.button !== 0 && ev.pointerType === "mouse") return;
    const src = ev.target.closest(selector);
    if (!src || !root.contains(src)) return;
    const ctl = ev.target.closest("button, input, select, textarea, a");
    if (ctl && ctl !== src && src.contains(ctl)) return;
    // a finger scrolls the page unless it holds the handle
    if (ev.pointerType === "touch" && handle && !ev.target.closest(handle)) return;
    start(ev, src);
  });

  function start(down, src) {
    const x0 = down.clientX, y0 = down.clientY;
    let ghost = null, line = null, index = -1;
    try { src.setPointerCapture(down.pointerId); } catch (e) { /* released already */ }

    function positions() {
      return Array.from(canvas.querySelectorAll(itemSelector)).filter((el) => el !== src);
    }

    function move(ev) {
      if (!ghost) {
        if (Math.abs(ev.clientX - x0) + Math.abs(ev.clientY - y0) < THRESHOLD) return;
        ghost = src.cloneNode(true);
        ghost.removeAttribute("data-field");
        ghost.removeAttribute("data-widget");
        ghost.removeAttribute("id");
        ghost.classList.add("dz-ghost");
        ghost.setAttribute("aria-hidden", "true");
        ghost.style.width = src.getBoundingClientRect().width + "px";
        document.body.appendChild(ghost);
        line = document.createElement("div");
        line.className = "dz-drop-line";
        line.setAttribute("aria-hidden", "true");
        src.classList.add("dz-dragging");
        document.body.classList.add("dz-is-dragging");
      }
      ev.preventDefault();
      ghost.style.transform = `translate(${ev.clientX + 8}px, ${ev.clientY + 8}px)`;
      const r = canvas.getBoundingClientRect();
      const over = ev.clientX >= r.left && ev.clientX <= r.right && ev.clientY >= r.top && ev.clientY <= r.bottom;
      if (!over) {
        index = -1;
        line.remove();
      } else {
        const items = positions();
        index = items.length;
        for (let i = 0; i < items.length; i++) {
          const b = items[i].getBoundingClientRect();
          if (ev.clientY < b.top + b.height / 2) { index = i; break; }
        }
        if (index < items.length) items[index].before(line);
        else if (items.length) items[items.length - 1].after(line);
        else canvas.appendChild(line);
      }
      // scroll when the pointer nears the window's edge
      if (ev.clientY < 40) window.scrollBy(0, -20);
      else if (ev.clientY > window.innerHeight - 40) window.scrollBy(0, 20);
    }

    function end(ev) {
      src.removeEventListener("pointermove", move);
      src.removeEventListener("pointerup", end);
      src.removeEventListener("pointercancel", end);
      if (!ghost) return; // a click
      ghost.remove();
      line.remove();
      src.classList.remove("dz-dragging");
      document.body.classList.remove("dz-is-dragging");
      dragged = true;
      // the drop lands at index among the positions, just before "before"
      // (a position's element, or null at the end)
      if (ev.type === "pointerup" && index >= 0) onDrop(src, index, positions()[index] || null);
    }

    src.addEventListener("pointermove", move);
    src.addEventListener("pointerup", end);
    src.addEventListener("pointercancel", end);
  }
}
