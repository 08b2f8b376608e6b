// The booking form: tapping a free time fills the time and the therapist.
document.addEventListener("click", (event) => {
  const slot = event.target.closest("button.slot");
  if (!slot || !slot.form) return;
  slot.form.elements.time.value = slot.dataset.time;
  slot.form.elements.provider_id.value = slot.dataset.provider;
});
