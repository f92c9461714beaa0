// Bootstrap Italia's bundle carries video.js, which writes a <style> element into the page
// at load: the Content-Security-Policy (style-src 'self') refuses it and the console shows
// an error. Its documented switch turns that off; it must be set before the bundle runs.
window.VIDEOJS_NO_DYNAMIC_STYLE = true;
