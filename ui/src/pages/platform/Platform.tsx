export default function Platform() {
  return null;
}
