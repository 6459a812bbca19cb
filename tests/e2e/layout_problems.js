() => {
  // What is wrong with the page at the current width, as sentences (tests/e2e/test_mobile.py).
  const problems = [];
  const width = document.documentElement.clientWidth;
  const scroller = (el) => {
    for (let node = el.parentElement; node && node !== document.body; node = node.parentElement) {
      const style = getComputedStyle(node);
      if (['auto', 'scroll'].includes(style.overflowX) && node.scrollWidth > node.clientWidth + 1) return node;
    }
    return null;
  };
  const name = (el) => (el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '')
    + ' "' + (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 40) + '"');
  if (document.documentElement.scrollWidth > width) {
    problems.push(`the page scrolls sideways: ${document.documentElement.scrollWidth}px wide in ${width}px`);
    for (const el of document.body.querySelectorAll('*')) {
      const box = el.getBoundingClientRect();
      if (box.width && box.right > width + 1 && !scroller(el)) {
        problems.push(`  sticks out: ${name(el)} (right edge ${Math.round(box.right)}px)`);
      }
      if (problems.length > 12) break;
    }
  }
  // While a modal dialog is open, the page behind it is inert: only the dialog's controls count.
  const modal = document.querySelector('dialog:modal');
  const controls = (modal || document).querySelectorAll(
    'button, input:not([type=hidden]), select, textarea, a.button, summary, .main-nav a');
  for (const el of controls) {
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.display === 'none' || el.closest('.visually-hidden')) continue;
    if (el.checkVisibility && !el.checkVisibility()) continue;  // e.g. inside a closed <details>
    el.scrollIntoView({block: 'center', inline: 'nearest'});
    const box = el.getBoundingClientRect();
    if (!box.width && !box.height) continue;
    let target = box;  // a tick box or radio is tapped through its label too
    for (const label of (el.matches('input[type=radio], input[type=checkbox]') && el.labels) || []) {
      const b = label.getBoundingClientRect();
      target = {width: Math.max(target.right, b.right) - Math.min(target.left, b.left),
                height: Math.max(target.bottom, b.bottom) - Math.min(target.top, b.top),
                left: Math.min(target.left, b.left), right: Math.max(target.right, b.right),
                top: Math.min(target.top, b.top), bottom: Math.max(target.bottom, b.bottom)};
    }
    if (target.width < 24 || target.height < 24) {
      problems.push(`too small to tap: ${name(el)} (${Math.round(box.width)}x${Math.round(box.height)})`);
    }
    if (!scroller(el) && (box.left < -1 || box.right > width + 1)) {
      problems.push(`outside the screen: ${name(el)} (${Math.round(box.left)}..${Math.round(box.right)})`);
    }
    const x = Math.min(Math.max(box.left + box.width / 2, 0), width - 1), y = box.top + box.height / 2;
    const hit = document.elementFromPoint(x, y);
    const label = el.labels && el.labels.length ? el.labels[0] : null;
    if (hit && !el.contains(hit) && !(label && label.contains(hit)) && !hit.contains(el)) {
      problems.push(`covered by ${name(hit)}: ${name(el)}`);
    }
    const typed = 'input[type=text], input[type=email], input[type=password], input[type=search], '
      + 'input:not([type]), textarea';
    if (el.matches(typed) && parseFloat(style.fontSize) < 16) {
      problems.push(`text smaller than 16px makes phones zoom: ${name(el)} (${style.fontSize})`);
    }
  }
  // On a phone: the header leaves room for the page, data tables are cards (not grids to
  // scroll sideways), and text drawn in charts is not shrunk with them.
  if (width <= 640) {
    const header = document.querySelector('.site-header');
    if (header && header.getBoundingClientRect().height > 120) {
      problems.push(`the header is ${Math.round(header.getBoundingClientRect().height)}px tall (at most 120px)`);
    }
    for (const table of document.querySelectorAll('main table')) {
      if (table.closest('.prose')) continue;  // a lesson's own tables keep their grid
      const box = table.getBoundingClientRect();
      if (box.width > width + 1 || table.scrollWidth > width + 1) {
        problems.push(`a table wider than the screen: ${name(table)} (${Math.round(Math.max(box.width, table.scrollWidth))}px)`);
      }
    }
  }
  for (const text of document.querySelectorAll('svg text')) {
    const box = text.getBoundingClientRect();
    const svg = text.ownerSVGElement;
    if (!box.height || !svg || !svg.viewBox.baseVal || !svg.viewBox.baseVal.width) continue;
    const size = parseFloat(getComputedStyle(text).fontSize) * svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    if (size < 10) {
      problems.push(`chart text drawn at ${size.toFixed(1)}px: "${text.textContent.trim().slice(0, 30)}"`);
    }
  }
  window.scrollTo(0, 0);
  return problems;
}
